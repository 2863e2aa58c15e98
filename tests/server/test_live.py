"""The REST API served by a real uvicorn process (``mnemos serve``) over loopback HTTP."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mnemos import Memory
from tests.server.conftest import LiveServer, bearer, serve


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, str, str]]:
    folder = tmp_path_factory.mktemp("live")
    store = folder / "live.db"
    with Memory(store, embedder="hash") as memory:
        ana = memory.keys.create(tenant="acme", user_ids=["ana"]).token
        other = memory.keys.create(tenant="other").token
    server = serve(store, folder, "--max-body-bytes", "65536")
    yield server, ana, other
    server.stop()


def test_a_real_server_round_trip(live: tuple[LiveServer, str, str]) -> None:
    server, ana, other = live
    with httpx.Client(base_url=server.url, headers=bearer(ana)) as client:
        added = client.post("/v1/memories", json={"messages": "I play the cello", "user_id": "ana"})
        assert added.status_code == 201
        mid = added.json()["memories"][0]["id"]
        hits = client.post("/v1/search", json={"query": "cello", "user_id": "ana"}).json()
        assert [h["id"] for h in hits["hits"]] == [mid]
        assert client.get(f"/v1/memories/{mid}").json()["tenant"] == "acme"
    with httpx.Client(base_url=server.url, headers=bearer(other)) as client:
        assert client.get(f"/v1/memories/{mid}").status_code == 404
        assert client.get("/v1/memories").json()["total"] == 0
    assert httpx.get(server.url + "/v1/memories").status_code == 401


def test_request_ids_reach_the_server_log(live: tuple[LiveServer, str, str]) -> None:
    server, ana, _ = live
    response = httpx.get(
        server.url + "/v1/memories/missing", headers={**bearer(ana), "X-Request-ID": "live-req-1"}
    )
    assert response.status_code == 404
    assert response.headers["x-request-id"] == "live-req-1"
    assert response.json()["request_id"] == "live-req-1"
    line = next(ln for ln in server.log().splitlines() if "GET /v1/memories/missing" in ln)
    assert "[live-req-1]" in line
    assert "404" in line


def test_body_limits_over_real_http(live: tuple[LiveServer, str, str]) -> None:
    server, ana, _ = live
    big = {"messages": "x" * 70_000, "user_id": "ana"}
    declared = httpx.post(server.url + "/v1/memories", json=big, headers=bearer(ana))
    assert declared.status_code == 413
    assert declared.json()["code"] == "request_too_large"
    # A chunked upload has no Content-Length; the server counts while it reads.
    host, port = "127.0.0.1", server.port
    with socket.create_connection((host, port), timeout=10) as sock:
        head = (
            f"POST /v1/memories HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {ana}\r\n"
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        sock.sendall(head.encode())
        chunk = b" " * 8192
        try:
            for _ in range(20):
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server may answer and close before the upload ends
        reply = ""
        while "request_too_large" not in reply and (data := sock.recv(65536)):
            reply += data.decode("latin-1")
    assert reply.startswith("HTTP/1.1 413"), reply[:200]
    assert '"code":"request_too_large"' in reply


def test_local_mode_on_a_real_server(tmp_path: Path) -> None:
    server = serve(tmp_path / "local.db", tmp_path, "--local")
    try:
        added = httpx.post(server.url + "/v1/memories", json={"messages": "hi", "user_id": "u"})
        assert added.status_code == 201
        assert httpx.get(server.url + "/v1/health").json()["auth"] == "local"
        assert httpx.get(server.url + "/ui/").status_code == 200
    finally:
        server.stop()
