"""Fixtures for the server: the app in process (httpx's ASGI transport) and a real uvicorn."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mnemos import Memory
from mnemos.server import create_app

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"


class InProcess:
    """A synchronous face on ``httpx.AsyncClient`` over ``httpx.ASGITransport``.

    Keeps one event loop for the client's life, so Hypothesis rules and plain tests can
    drive the ASGI app without an async test runner.
    """

    def __init__(self, app: Any, *, client: tuple[str, int] = ("127.0.0.1", 50000)) -> None:
        self.loop = asyncio.new_event_loop()
        transport = httpx.ASGITransport(app=app, client=client)
        self.client = httpx.AsyncClient(transport=transport, base_url="http://testserver")

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self.loop.run_until_complete(self.client.request(method, url, **kwargs))

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, **kwargs)

    def close(self) -> None:
        self.loop.run_until_complete(self.client.aclose())
        self.loop.close()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def root(tmp_path: Path) -> Iterator[Memory]:
    with Memory(tmp_path / "server.db", embedder="hash") as memory:
        yield memory


@pytest.fixture
def api(root: Memory) -> Iterator[InProcess]:
    client = InProcess(create_app(root))
    yield client
    client.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class LiveServer:
    """``python -m mnemos … serve`` (or ``mcp``) as a real process on a loopback port."""

    def __init__(
        self,
        args: list[str],
        *,
        port: int,
        log: Path,
        command: list[str] | None = None,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = log
        self._log = log.open("wb")
        environ = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1", **(env or {})}
        self.proc = subprocess.Popen(
            command or [sys.executable, "-m", "mnemos", *args],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=environ,
            cwd=cwd,
        )
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log()}")
            try:  # uvicorn finishes its startup before it listens
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"server did not start:\n{self.log()}")
            time.sleep(0.1)

    def log(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


def serve(store: Path, tmp_path: Path, *extra: str, embedder: str = "hash") -> LiveServer:
    port = free_port()
    args = ["--store", str(store), "--embedder", embedder, "serve", "--port", str(port), *extra]
    return LiveServer(args, port=port, log=tmp_path / f"serve-{port}.log")
