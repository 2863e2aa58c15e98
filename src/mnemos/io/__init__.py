"""Reading and writing files: the mnemos export format and importers for other formats."""
