"""Reading and writing files: the mnemos export format and importers for other formats."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mnemos.errors import InvalidInputError

__all__ = ["read_json"]


def read_json(path: Path, what: str) -> Any:
    """A JSON file's content; any failure to read or parse it is an ``InvalidInputError``
    naming the file and what it was meant to be (``what``: "LoCoMo file", ...)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInputError(f"cannot read {what} {path}: {exc}") from None
