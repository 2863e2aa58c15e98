"""A bounded load test against a real server: no errors and no lost writes under concurrency.

The 60-second, 32-client run reported in the docs is ``python -m tests.server.load``.
"""

from __future__ import annotations

from tests.server.load import run


def test_concurrent_adds_and_searches_lose_nothing() -> None:
    report = run(clients=16, seconds=8, embedder="hash")
    assert report["errors"] == 0, report["error_samples"]
    assert report["lost_writes"] == 0
    assert report["unexpected_writes"] == 0
    assert report["writes_stored"] == report["writes_acknowledged"] > 0
    assert report["add"]["requests"] > 0
    assert report["search"]["requests"] > 0


def test_queued_adds_under_load_each_end_with_a_memory() -> None:
    report = run(clients=8, seconds=6, embedder="hash", queued=0.5)
    assert report["errors"] == 0, report["error_samples"]
    assert report["queued_messages"] > 0
    assert report["lost_writes"] == 0
    assert report["unexpected_writes"] == 0
    assert report["writes_acknowledged"] > 0
