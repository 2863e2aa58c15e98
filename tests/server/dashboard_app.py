"""An app factory for the browser tests: ``uvicorn tests.server.dashboard_app:build --factory``.

Serves the store named by ``MNEMOS_PATH`` with the ``hash`` embedder, as ``mnemos serve``
would, so the browser tests need no embedding model.
"""

from __future__ import annotations

import os

from fastapi import FastAPI

from mnemos import Memory
from mnemos.server import create_app


def build() -> FastAPI:
    return create_app(Memory(os.environ["MNEMOS_PATH"], embedder="hash"))
