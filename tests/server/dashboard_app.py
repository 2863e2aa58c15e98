"""An app factory for the browser tests: ``uvicorn tests.server.dashboard_app:build --factory``.

The store is the one named by ``MNEMOS_PATH`` (embedder ``hash``). Entities are not in the
store yet, so the entity graph view is fed a fixed graph here; the graph comes from
``mem.entities`` once that lands (see ``mnemos.server.ui.entity_graph``).
"""

from __future__ import annotations

import os

from fastapi import FastAPI

from mnemos import Memory
from mnemos.server import create_app
from mnemos.server.ui import Graph


def sample_graph(memory: Memory, user_id: str | None, limit: int) -> Graph | None:
    """The graph of the bundled sample conversation, as entity extraction would draw it."""
    search = "/ui/memories?user=ana&q="
    names = [
        ("ana", "Ana", "person", 9), ("porto", "Porto half marathon", "thing", 4),
        ("lisbon", "Lisbon", "place", 3), ("quinta", "Quinta Labs", "organization", 2),
        ("miso", "Miso", "thing", 2), ("clara", "Clara", "person", 2),
        ("running", "running", "concept", 3), ("physio", "physio", "concept", 1),
    ]  # fmt: skip
    nodes = [
        {"id": i, "label": label, "kind": kind, "weight": weight, "url": search + label}
        for i, label, kind, weight in names
    ]
    edges = [
        {"source": s, "target": t, "label": label, "weight": w}
        for s, t, label, w in (
            ("ana", "porto", "trains for", 3), ("ana", "lisbon", "lives in", 2),
            ("ana", "quinta", "works at", 2), ("ana", "miso", "adopted", 2),
            ("ana", "clara", "sister of", 1), ("ana", "running", "", 3),
            ("porto", "running", "", 2), ("ana", "physio", "sees", 1),
        )
    ]  # fmt: skip
    return {"nodes": nodes[:limit], "edges": edges}


def build() -> FastAPI:
    memory = Memory(os.environ["MNEMOS_PATH"], embedder="hash")
    app = create_app(memory)
    app.state.mnemos_graph = sample_graph
    return app
