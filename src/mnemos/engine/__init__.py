"""The engine: ingest pipeline, recall pipeline and record keeping."""
