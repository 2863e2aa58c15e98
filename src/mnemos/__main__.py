"""``python -m mnemos``: the same as the ``mnemos`` command."""

import sys

from mnemos.cli import main

sys.exit(main())
