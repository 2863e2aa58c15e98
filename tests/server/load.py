"""A loopback load test: concurrent clients mixing add and search against ``mnemos serve``.

Starts a real server process on a fresh store, runs ``clients`` concurrent HTTP clients for
``seconds`` (each its own connection; half the requests add a message, half search), then
counts what the store holds: every acknowledged write must be there, and nothing else.
Reports requests/s and latency percentiles per operation.

    python -m tests.server.load --clients 32 --seconds 60 --embedder minilm

The test suite runs a shorter, bounded version (``test_load.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from mnemos import Memory
from tests.server.conftest import ARTIFACTS, serve

WORDS = ("marathon", "training", "lisbon", "porto", "cello", "puppy", "budget", "garden",
         "recipe", "sister", "wedding", "job", "interview", "flat", "river", "beagle", "physio",
         "hotel", "sintra", "pottery", "concert", "tram", "coffee", "bakery")  # fmt: skip


@dataclass
class Outcome:
    latencies: dict[str, list[float]] = field(default_factory=lambda: {"add": [], "search": []})
    errors: list[str] = field(default_factory=list)
    acknowledged: set[str] = field(default_factory=set)
    queued: set[str] = field(default_factory=set)  # episodes of adds that did not wait


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _client(
    n: int, url: str, token: str, deadline: float, outcome: Outcome, users: int, queued: float
) -> None:
    rng = random.Random(n)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as client:
        i = 0
        while time.monotonic() < deadline:
            i += 1
            user = f"user-{rng.randrange(users)}"
            words = " ".join(rng.choice(WORDS) for _ in range(8))
            op = "add" if rng.random() < 0.5 else "search"
            started = time.perf_counter()
            try:
                if op == "add":
                    body = {"messages": f"client {n} note {i}: {words}", "user_id": user}
                    if rng.random() < queued:
                        body["wait"] = False
                    response = await client.post("/v1/memories", json=body)
                else:
                    body = {"query": words, "user_id": user, "limit": 10}
                    response = await client.post("/v1/search", json=body)
            except httpx.HTTPError as exc:
                outcome.errors.append(f"{op}: {type(exc).__name__}: {exc}")
                continue
            elapsed = (time.perf_counter() - started) * 1000
            expected = 201 if op == "add" else 200
            if response.status_code != expected:
                outcome.errors.append(f"{op}: HTTP {response.status_code} {response.text[:200]}")
                continue
            outcome.latencies[op].append(elapsed)
            if op == "add":
                added = response.json()
                outcome.acknowledged.update(m["id"] for m in added["memories"])
                if added["pending"]:
                    outcome.queued.update(e["id"] for e in added["episodes"])


async def _drive(
    url: str, token: str, clients: int, seconds: float, users: int, queued: float
) -> Outcome:
    outcome = Outcome()
    deadline = time.monotonic() + seconds
    await asyncio.gather(
        *(_client(n, url, token, deadline, outcome, users, queued) for n in range(clients))
    )
    return outcome


def run(
    *,
    clients: int = 32,
    seconds: float = 60,
    embedder: str = "hash",
    users: int = 8,
    queued: float = 0.0,
) -> dict[str, Any]:
    """Run the load test on a fresh store; returns the report (also written to artifacts).

    ``queued``: the share of adds sent with ``wait: false``; each of their messages must
    end with a memory of its own, derived by the server before a read or at its exit.
    """
    with tempfile.TemporaryDirectory(prefix="mnemos-load-") as tmp:
        folder = Path(tmp)
        store = folder / "load.db"
        with Memory(store, embedder=embedder) as memory:
            token = memory.keys.create(tenant="load").token
        server = serve(store, folder, "--log-level", "warning", embedder=embedder)
        try:
            # One search first, so the server has loaded its embedding model before timing.
            httpx.post(
                server.url + "/v1/search",
                json={"query": "warm up", "user_id": "user-0"},
                headers={"Authorization": f"Bearer {token}"},
                timeout=120,
            ).raise_for_status()
            started = time.monotonic()
            outcome = asyncio.run(_drive(server.url, token, clients, seconds, users, queued))
            wall = time.monotonic() - started
        finally:
            server.stop()
            log = server.log()
        with Memory(store, embedder=embedder, tenant="load") as memory:
            stored: set[str] = set()
            derived: set[str] = set()  # memories of queued messages
            covered: set[str] = set()  # queued messages with a memory
            offset: int | None = 0
            while offset is not None:
                page = memory.get_all(limit=1000, offset=offset)
                for m in page.items:
                    stored.add(m.id)
                    if outcome.queued & set(m.episode_ids):
                        derived.add(m.id)
                        covered.update(outcome.queued & set(m.episode_ids))
                offset = page.next_offset
    lost = (outcome.acknowledged - stored) | (outcome.queued - covered)
    report: dict[str, Any] = {
        "clients": clients,
        "seconds": round(wall, 1),
        "embedder": embedder,
        "requests": sum(len(v) for v in outcome.latencies.values()),
        "requests_per_s": round(sum(len(v) for v in outcome.latencies.values()) / wall, 1),
        "errors": len(outcome.errors),
        "error_samples": outcome.errors[:5],
        "writes_acknowledged": len(outcome.acknowledged),
        "writes_stored": len(stored),
        "lost_writes": len(lost),
        "unexpected_writes": len(stored - outcome.acknowledged - derived),
        "queued_messages": len(outcome.queued),
    }
    for op, values in outcome.latencies.items():
        report[op] = {
            "requests": len(values),
            "requests_per_s": round(len(values) / wall, 1),
            "p50_ms": round(_pct(values, 0.50), 1),
            "p95_ms": round(_pct(values, 0.95), 1),
            "p99_ms": round(_pct(values, 0.99), 1),
            "mean_ms": round(statistics.fmean(values), 1) if values else 0.0,
        }
    ARTIFACTS.mkdir(exist_ok=True)
    name = f"load-test-{embedder}-{clients}x{round(seconds)}s" + ("-queued" if queued else "")
    (ARTIFACTS / f"{name}.json").write_text(json.dumps(report, indent=2) + "\n")
    (ARTIFACTS / f"{name}.server.log").write_text(log)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--embedder", default="minilm")
    parser.add_argument("--users", type=int, default=8)
    parser.add_argument("--queued", type=float, default=0.0, help="share of adds not waiting")
    args = parser.parse_args()
    report = run(
        clients=args.clients,
        seconds=args.seconds,
        embedder=args.embedder,
        users=args.users,
        queued=args.queued,
    )
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
