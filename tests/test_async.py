"""AsyncMemory mirrors Memory."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from mnemos import AsyncMemory, ClosedError


def test_async_round_trip(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with AsyncMemory(tmp_path / "a.db", embedder="hash") as mem:
            results = await asyncio.gather(
                *(mem.add(f"async note {i}", user_id="u") for i in range(10))
            )
            assert len(results) == 10
            hits = (await mem.search("async note 3", user_id="u")).hits
            assert hits[0].text == "async note 3"
            rec = await mem.update(hits[0].id, "async note three")
            assert rec.version == 2
            assert [e.event for e in await mem.history(rec.id)] == ["ADD", "UPDATE"]
            assert (await mem.get_all(user_id="u", filters={"kind": "note"})).total == 10
            assert (await mem.episodes.list(user_id="u")).total == 10
            assert (await mem.stats()).episodes == 10
            await mem.delete(rec.id)
            await mem.restore(rec.id)
            assert (await mem.get(rec.id)).status == "active"
            await mem.export(tmp_path / "x.jsonl")
            assert (await mem.erase(user_id="u")).episodes == 10
        assert mem.closed
        with pytest.raises(ClosedError):
            await mem.search("x", user_id="u")

    asyncio.run(scenario())
