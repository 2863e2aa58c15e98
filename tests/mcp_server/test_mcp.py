"""``mnemos mcp`` driven by the official SDK's own client, over stdio and streamable HTTP."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from mnemos import InvalidInputError, Memory
from mnemos.mcp_server import McpScope, ScopeResolver, build_server
from tests.server.conftest import LiveServer, free_port

TOOLS = {"remember", "recall", "get_context", "forget", "list_memories", "history"}
SCOPE_WORDS = ("user", "tenant", "agent", "session", "scope")


def run(coro: Awaitable[Any]) -> Any:
    return asyncio.run(coro)  # type: ignore[arg-type]


def stdio(store: Path, tmp_path: Path, *args: str) -> tuple[StdioServerParameters, Any]:
    env = {k: v for k, v in os.environ.items() if k.startswith(("MNEMOS_", "HF_"))}
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "mnemos", "--store", str(store), "--embedder", "hash", "mcp", *args],
        env={**env, "PYTHONUNBUFFERED": "1"},
        cwd=str(tmp_path),
    )
    return params, (tmp_path / "stdio-err.log").open("w")


@asynccontextmanager
async def over_stdio(store: Path, tmp_path: Path, *args: str) -> AsyncIterator[Client]:
    from mcp.client.stdio import stdio_client

    params, errlog = stdio(store, tmp_path, *args)
    try:
        async with Client(stdio_client(params, errlog=errlog)) as client:
            yield client
    finally:
        errlog.close()


@asynccontextmanager
async def over_http(url: str, token: str | None) -> AsyncIterator[Client]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=30) as http,
        Client(streamable_http_client(url, http_client=http)) as client,
    ):
        yield client


async def call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return result.structured_content


async def error_of(client: Client, tool: str, **arguments: Any) -> str:
    result = await client.call_tool(tool, arguments)
    assert result.is_error
    text: str = result.content[0].text  # type: ignore[union-attr]
    return text


async def exercise(client: Client) -> str:
    """Every tool once, as an agent would use them; returns the id of the forgotten memory."""
    stored = await call(
        client, "remember", text="Ana moved to Lisbon in March 2024", speaker="Ana",
        occurred_at="2024-03-10T09:00:00Z", metadata={"topic": "home"},
    )  # fmt: skip
    assert "Ana moved to Lisbon in March 2024" in stored["texts"]
    other = await call(client, "remember", text="Ana prefers aisle seats on long flights")
    recalled = await call(client, "recall", query="where does Ana live?", limit=3)
    top = recalled["memories"][0]
    assert "Lisbon" in top["text"]
    assert top["said_by"] == ["Ana"]
    assert top["id"] in stored["memory_ids"]
    context = await call(client, "get_context", query="Lisbon", budget_tokens=200)
    assert "[2024-03-10] Ana: Ana moved to Lisbon in March 2024" in context["result"]
    listed = await call(client, "list_memories", limit=50)
    assert listed["total"] == len(stored["memory_ids"]) + len(other["memory_ids"])
    forgotten = await call(client, "forget", memory_id=top["id"], reason="moved again")
    assert (forgotten["status"], forgotten["version"]) == ("deleted", 2)
    history = await call(client, "history", memory_id=top["id"])
    assert [(c["event"], c["reason"]) for c in history["changes"]] == [
        ("ADD", None), ("DELETE", "moved again")]  # fmt: skip
    after = await call(client, "recall", query="where does Ana live?")
    assert top["id"] not in [m["id"] for m in after["memories"]]
    message = await error_of(client, "forget", memory_id="no-such-memory")
    assert "not_found" in message
    return str(top["id"])


async def refuses_other_scopes(client: Client) -> None:
    """What a prompt-injected agent might try: naming another scope in the arguments."""
    for extra in ({"user_id": "bob"}, {"tenant": "other"}, {"session_id": "x"}):
        message = await error_of(client, "remember", text="planted", **extra)
        assert "Extra inputs are not permitted" in message
        message = await error_of(client, "recall", query="planted", **extra)
        assert "Extra inputs are not permitted" in message


def test_tool_schemas_cannot_name_a_scope(tmp_path: Path) -> None:
    with Memory(tmp_path / "m.db", embedder="hash") as memory:
        server = build_server(ScopeResolver(memory, "config", McpScope(user_id="ana")))

        async def listing() -> Any:
            async with Client(server) as client:
                return (await client.list_tools()).tools

        tools = run(listing())
    assert {t.name for t in tools} == TOOLS
    for tool in tools:
        schema = tool.input_schema
        assert schema["additionalProperties"] is False, tool.name
        for name in schema["properties"]:
            assert not any(word in name for word in SCOPE_WORDS), (tool.name, name)
        assert len(tool.description or "") > 80, tool.name
        for name, prop in schema["properties"].items():
            assert prop.get("description"), (tool.name, name)
        assert tool.annotations is not None
        assert tool.annotations.read_only_hint == (
            tool.name in {"recall", "get_context", "list_memories", "history"}
        )
    forget = next(t for t in tools if t.name == "forget")
    assert forget.annotations is not None
    assert forget.annotations.destructive_hint


def test_stdio_with_a_configured_user(tmp_path: Path) -> None:
    store = tmp_path / "stdio.db"

    async def session() -> None:
        async with over_stdio(store, tmp_path, "--user", "ana", "--session", "chat-1") as client:
            await exercise(client)
            await refuses_other_scopes(client)

    run(session())
    with Memory(store, embedder="hash") as memory:
        everything = memory.get_all(filters={"status": ["active", "deleted"]})
        assert {(m.user_id, m.session_id) for m in everything.items} == {("ana", "chat-1")}
        assert memory.get_all(user_id="bob").total == 0


def test_stdio_takes_its_scope_from_a_key(tmp_path: Path) -> None:
    store = tmp_path / "keyed.db"
    with Memory(store, embedder="hash") as memory:
        memory.add("bob's own memory", user_id="bob")
        ana_key = memory.keys.create(tenant="default", user_ids=["ana"]).token
        two_users = memory.keys.create(user_ids=["ana", "bob"]).token

    async def session() -> list[str]:
        async with over_stdio(store, tmp_path, "--key", ana_key) as client:
            await call(client, "remember", text="remembered through the key")
            listed = await call(client, "list_memories")
            return [m["text"] for m in listed["memories"]]

    assert run(session()) == ["remembered through the key"]

    async def refused(*args: str) -> None:
        async with over_stdio(store, tmp_path, *args) as client:
            await client.list_tools()

    refusals = {
        ("--key", ana_key, "--user", "bob"): "outside the scopes of the API key",
        ("--key", two_users): "needs one user scope",
        (): "needs one user scope",
        ("--key", "mnemos_forged"): "missing, unknown or revoked",
    }
    for args, reason in refusals.items():
        with pytest.raises(ExceptionGroup):  # the server exits before the handshake
            run(refused(*args))
        log = (tmp_path / "stdio-err.log").read_text()
        assert reason in log, (args, log)
        assert "Traceback" not in log


@pytest.fixture
def http_server(tmp_path: Path) -> Any:
    servers: list[LiveServer] = []

    def start(store: Path, *args: str) -> LiveServer:
        port = free_port()
        server = LiveServer(
            ["--store", str(store), "--embedder", "hash", "mcp", "--transport", "http",
             "--port", str(port), *args],
            port=port, log=tmp_path / f"mcp-{port}.log",
        )  # fmt: skip
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def test_streamable_http_with_keys(tmp_path: Path, http_server: Callable[..., LiveServer]) -> None:
    store = tmp_path / "http.db"
    with Memory(store, embedder="hash") as memory:
        ana = memory.keys.create(tenant="acme", user_ids=["ana"])
        bob = memory.keys.create(tenant="acme", user_ids=["bob"]).token
        everyone = memory.keys.create(tenant="acme").token
    server = http_server(store)
    url = server.url + "/mcp"

    unauthenticated = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
    assert unauthenticated.status_code == 401
    assert unauthenticated.json()["code"] == "unauthenticated"
    assert unauthenticated.json()["request_id"] == unauthenticated.headers["x-request-id"]
    assert (
        httpx.post(url, json={}, headers={"Authorization": f"Bearer {everyone}"}).status_code == 400
    )

    async def session() -> str:
        async with over_http(url, ana.token) as client:
            assert {t.name for t in (await client.list_tools()).tools} == TOOLS
            forgotten = await exercise(client)
            await refuses_other_scopes(client)
        async with over_http(url, bob) as client:
            assert (await call(client, "list_memories"))["total"] == 0
            assert "not_found" in await error_of(client, "history", memory_id=forgotten)
            await call(client, "remember", text="bob's note")
        return forgotten

    run(session())
    with Memory(store, embedder="hash", tenant="acme") as memory:
        ana_memories = memory.get_all(user_id="ana", filters={"status": ["active", "deleted"]})
        assert {m.user_id for m in ana_memories.items} == {"ana"}
        assert {m.text for m in memory.get_all(user_id="bob").items} == {"bob's note"}
        memory.keys.revoke(ana.key.id)

    async def after_revocation() -> int:
        async with over_http(url, bob) as client:
            await client.list_tools()
        status = httpx.post(url, json={}, headers={"Authorization": f"Bearer {ana.token}"})
        return status.status_code

    assert run(after_revocation()) == 401


def test_streamable_http_pinned_by_configuration(
    tmp_path: Path, http_server: Callable[..., LiveServer]
) -> None:
    store = tmp_path / "pinned.db"
    with Memory(store, embedder="hash") as memory:
        everyone = memory.keys.create().token
        only_bob = memory.keys.create(user_ids=["bob"]).token
    server = http_server(store, "--user", "ana")
    url = server.url + "/mcp"

    async def session() -> None:
        async with over_http(url, everyone) as client:
            await call(client, "remember", text="pinned to ana by the server")
        assert (
            httpx.post(url, json={}, headers={"Authorization": f"Bearer {only_bob}"}).status_code
            == 403
        )

    run(session())
    with Memory(store, embedder="hash") as memory:
        assert {m.user_id for m in memory.get_all().items} == {"ana"}


def test_streamable_http_local_mode(tmp_path: Path, http_server: Callable[..., LiveServer]) -> None:
    server = http_server(tmp_path / "local.db", "--local", "--user", "ana")

    async def session() -> None:
        async with over_http(server.url + "/mcp", None) as client:
            await exercise(client)

    run(session())


def test_local_http_needs_a_user(tmp_path: Path) -> None:
    with Memory(tmp_path / "x.db", embedder="hash") as memory, pytest.raises(InvalidInputError):
        ScopeResolver(memory, "local", McpScope())
