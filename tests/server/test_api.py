"""The /v1 REST API in process, through httpx's ASGI transport."""

from __future__ import annotations

import json
import logging
import sqlite3
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from mnemos import Memory
from mnemos.engine.derive import Candidate
from mnemos.models import Episode
from mnemos.server import create_app
from tests.server.conftest import InProcess, bearer

ERROR_KEYS = {"code", "message", "details", "request_id"}


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    """Every error has exactly the one shape, whatever produced it."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert set(body) == ERROR_KEYS, body
    assert body["code"] == code, body
    assert isinstance(body["message"], str)
    assert body["message"]
    assert isinstance(body["details"], dict)
    assert body["request_id"] == response.headers["x-request-id"]
    assert "Traceback" not in response.text
    return body


@pytest.fixture
def ana(root: Memory) -> dict[str, str]:
    return bearer(root.keys.create(tenant="acme", user_ids=["ana"], name="ana's agent").token)


@pytest.fixture
def admin(root: Memory) -> dict[str, str]:
    return bearer(root.keys.create(tenant="acme").token)


def add(api: InProcess, headers: dict[str, str], text: str, user: str = "ana", **kw: Any) -> Any:
    response = api.post(
        "/v1/memories", json={"messages": text, "user_id": user, **kw}, headers=headers
    )
    assert response.status_code == 201, response.text
    return response.json()


def note_of(added: dict[str, Any], text: str) -> str:
    """The id of the note (the message as said) among what an add derived."""
    ids = [m["id"] for m in added["memories"] if m["kind"] == "note" and m["text"] == text]
    assert len(ids) == 1, added["memories"]
    return ids[0]


def test_health_needs_no_key(api: InProcess) -> None:
    response = api.get("/v1/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "version": "0.1.0", "auth": "keys"}


def test_add_get_list_update_history_delete_restore(api: InProcess, ana: dict[str, str]) -> None:
    added = api.post(
        "/v1/memories",
        json={
            "messages": [
                {"role": "user", "name": "Ana", "content": "I moved to Lisbon last month"},
                {"role": "assistant", "content": "How are you finding it?"},
            ],
            "user_id": "ana",
            "session_id": "s1",
            "at": "2024-04-15T08:30:00Z",
            "metadata": {"channel": "chat"},
        },
        headers=ana,
    )
    assert added.status_code == 201
    body = added.json()
    assert [e["name"] for e in body["episodes"]] == ["Ana", None]
    assert {c["event"] for c in body["changes"]} == {"ADD"}
    assert len(body["memories"]) >= 2  # a note per message, and statements derived from them
    mid = note_of(body, "I moved to Lisbon last month")

    got = api.get(f"/v1/memories/{mid}", headers=ana).json()
    assert got["text"] == "I moved to Lisbon last month"
    assert (got["tenant"], got["user_id"], got["session_id"]) == ("acme", "ana", "s1")
    assert got["metadata"] == {"channel": "chat"}
    assert got["occurred_at"] == "2024-04-15T08:30:00Z"

    evidence = api.get(f"/v1/memories/{mid}/evidence", headers=ana).json()
    assert [(e["name"], e["text"]) for e in evidence] == [("Ana", "I moved to Lisbon last month")]

    updated = api.patch(
        f"/v1/memories/{mid}",
        json={"text": "I moved to Porto", "reason": "wrong city"},
        headers=ana,
    )
    assert updated.status_code == 200
    assert (updated.json()["version"], updated.json()["text"]) == (2, "I moved to Porto")

    deleted = api.delete(f"/v1/memories/{mid}", params={"reason": "test"}, headers=ana)
    assert deleted.json()["status"] == "deleted"
    listed = api.get("/v1/memories", params={"user_id": "ana"}, headers=ana).json()
    assert mid not in [m["id"] for m in listed["items"]]
    assert api.post(f"/v1/memories/{mid}/restore", headers=ana).json()["status"] == "active"

    events = api.get(f"/v1/memories/{mid}/history", headers=ana).json()
    assert [(e["event"], e["version"]) for e in events] == [
        ("ADD", 1), ("UPDATE", 2), ("DELETE", 3), ("RESTORE", 4)]  # fmt: skip
    assert events[1]["reason"] == "wrong city"
    assert events[1]["before"]["text"] == "I moved to Lisbon last month"


def test_search_and_context(api: InProcess, ana: dict[str, str]) -> None:
    add(api, ana, "I adopted a puppy called Rex", at="2024-01-02")
    add(api, ana, "The weather in Lisbon is sunny", at="2024-01-03")
    hits = api.post("/v1/search", json={"query": "puppy", "user_id": "ana"}, headers=ana).json()
    assert hits["hits"][0]["text"] == "I adopted a puppy called Rex"
    assert hits["hits"][0]["evidence"][0]["text"] == "I adopted a puppy called Rex"
    lexical = api.post(
        "/v1/search",
        json={"query": "puppy", "user_id": "ana", "recipe": "lexical", "limit": 1},
        headers=ana,
    ).json()
    assert list(lexical["hits"][0]["scores"]) == ["bm25"]
    configured = api.post(
        "/v1/search",
        json={"query": "puppy", "user_id": "ana", "config": {"weights": {"vector": 1.0}}},
        headers=ana,
    ).json()
    assert set(configured["hits"][0]["scores"]) == {"vector"}
    filtered = api.post(
        "/v1/search",
        json={"query": "puppy Lisbon", "user_id": "ana",
              "filters": {"occurred_at": {"gte": "2024-01-03"}}},
        headers=ana,
    ).json()  # fmt: skip
    assert [h["text"] for h in filtered["hits"]] == ["The weather in Lisbon is sunny"]
    ctx = api.post("/v1/context", json={"query": "puppy", "user_id": "ana"}, headers=ana).json()
    assert "[2024-01-02]" in ctx["text"]
    assert ctx["tokens"] <= ctx["budget_tokens"] == 1000


def test_an_add_that_does_not_wait_is_searchable_next(api: InProcess, ana: dict[str, str]) -> None:
    queued = add(api, ana, "I adopted a puppy called Rex", wait=False)
    assert queued["pending"] is True
    assert queued["memories"] == []
    assert [e["text"] for e in queued["episodes"]] == ["I adopted a puppy called Rex"]
    hits = api.post("/v1/search", json={"query": "puppy", "user_id": "ana"}, headers=ana).json()
    assert hits["hits"][0]["text"] == "I adopted a puppy called Rex"
    refused = api.post(
        "/v1/memories",
        json={"messages": "hi", "user_id": "ana", "wait": "no"},
        headers=ana,
    )
    assert_error(refused, 422, "invalid_request")


def test_listing_pages_and_filters(api: InProcess, ana: dict[str, str]) -> None:
    for day in range(1, 8):
        add(api, ana, f"note number {day}", at=f"2024-03-0{day}")
    first = api.get("/v1/memories", params={"limit": 3}, headers=ana).json()
    assert (first["total"], first["offset"], first["limit"], first["next_offset"]) == (7, 0, 3, 3)
    seen = [m["text"] for m in first["items"]]
    offset = first["next_offset"]
    while offset is not None:
        page = api.get("/v1/memories", params={"limit": 3, "offset": offset}, headers=ana).json()
        seen += [m["text"] for m in page["items"]]
        offset = page["next_offset"]
    assert sorted(seen) == sorted(f"note number {d}" for d in range(1, 8))
    window = api.get(
        "/v1/memories",
        params={
            "occurred_after": "2024-03-03T00:00:00Z",
            "occurred_before": "2024-03-05T00:00:00Z",
        },
        headers=ana,
    ).json()
    assert sorted(m["text"] for m in window["items"]) == ["note number 3", "note number 4"]
    kinds = api.get("/v1/memories", params={"kind": ["fact"]}, headers=ana).json()
    assert kinds["total"] == 0
    assert_error(api.get("/v1/memories", params={"limit": 0}, headers=ana), 422, "invalid_request")
    assert_error(
        api.get("/v1/memories", params={"kind": "nope"}, headers=ana), 422, "invalid_request"
    )


def test_episodes(api: InProcess, ana: dict[str, str]) -> None:
    added = add(api, ana, "first", at="2024-01-01")
    add(api, ana, "second", at="2024-01-02")
    page = api.get("/v1/episodes", params={"user_id": "ana"}, headers=ana).json()
    assert [e["text"] for e in page["items"]] == ["first", "second"]
    eid = added["episodes"][0]["id"]
    assert api.get(f"/v1/episodes/{eid}", headers=ana).json()["text"] == "first"
    assert_error(api.get("/v1/episodes/nope", headers=ana), 404, "not_found")


def test_export_streams_jsonl_of_the_keys_scope(
    api: InProcess, root: Memory, ana: dict[str, str], admin: dict[str, str]
) -> None:
    add(api, ana, "mine")
    add(api, admin, "bob's", user="bob")
    response = api.get("/v1/export", headers=ana)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in response.text.splitlines()]
    texts = [r["record"].get("text") for r in lines if r.get("type") in ("episode", "memory")]
    assert texts == ["mine", "mine"]
    assert response.headers["x-mnemos-memories"] == "1"
    assert_error(
        api.get("/v1/export", params={"user_id": "bob"}, headers=ana), 403, "access_denied"
    )
    everything = api.get("/v1/export", headers=admin)
    assert everything.headers["x-mnemos-memories"] == "2"


def test_errors_share_one_shape(api: InProcess, ana: dict[str, str]) -> None:
    body = assert_error(api.get("/v1/memories/no-such-id", headers=ana), 404, "not_found")
    assert body["details"] == {"memory_id": "no-such-id"}
    assert_error(api.get("/v1/nowhere", headers=ana), 404, "not_found")
    assert_error(api.request("PUT", "/v1/memories", headers=ana), 405, "method_not_allowed")
    body = assert_error(
        api.post("/v1/memories", json={"messages": "x"}, headers=ana), 422, "invalid_request"
    )
    assert body["details"]["errors"][0]["loc"] == ["body", "user_id"]
    assert_error(
        api.post(
            "/v1/search", content=b"{not json", headers={**ana, "content-type": "application/json"}
        ),
        422,
        "invalid_request",
    )
    mid = add(api, ana, "to delete")["memories"][0]["id"]
    api.delete(f"/v1/memories/{mid}", headers=ana)
    assert_error(api.patch(f"/v1/memories/{mid}", json={"text": "x"}, headers=ana), 409, "conflict")
    live = add(api, ana, "still here")["memories"][0]["id"]
    assert_error(api.patch(f"/v1/memories/{live}", json={}, headers=ana), 422, "invalid_request")
    body = assert_error(
        api.post("/v1/search", json={"query": "x", "user_id": "ana", "filters": {"kind": "nope"}},
                 headers=ana),
        400,
        "invalid_input",
    )  # fmt: skip
    assert "nope" in body["message"]


def test_an_unexpected_failure_is_a_500_in_the_same_shape(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken:
        def derive(self, episodes: Sequence[Episode], context: Any) -> list[Candidate]:
            raise RuntimeError("secret internals")

    with Memory(tmp_path / "broken.db", embedder="hash", deriver=Broken()) as memory:
        api = InProcess(create_app(memory, auth="local"))
        with caplog.at_level(logging.ERROR, logger="mnemos.server"):
            response = api.post("/v1/memories", json={"messages": "x", "user_id": "u"})
        api.close()
    body = assert_error(response, 500, "mnemos_error")
    assert "secret internals" not in response.text
    assert "RuntimeError: secret internals" in caplog.text
    assert any(getattr(r, "request_id", None) == body["request_id"] for r in caplog.records)


def test_bad_input_writes_nothing(api: InProcess, root: Memory, ana: dict[str, str]) -> None:
    add(api, ana, "already here")
    before = _fingerprint(root)
    batches: list[Any] = [
        {"messages": ["fine", "   "], "user_id": "ana"},
        {"messages": ["fine", {"role": "robot", "content": "x"}], "user_id": "ana"},
        {"messages": ["fine", {"content": "x", "metadata": {"k": float("inf")}}], "user_id": "ana"},
        {"messages": "x\x00y", "user_id": "ana"},
        {"messages": [], "user_id": "ana"},
        {"messages": "fine", "user_id": "ana", "at": "not a time"},
        {"messages": "fine", "user_id": "bob"},
        {"messages": "fine", "user_id": "ana", "tenant": "other"},
    ]
    for batch in batches:
        content = json.dumps(batch, allow_nan=True).encode()
        response = api.post(
            "/v1/memories", content=content, headers={**ana, "content-type": "application/json"}
        )
        assert 400 <= response.status_code < 500, (batch, response.text)
        assert set(response.json()) == ERROR_KEYS
    assert _fingerprint(root) == before


def _fingerprint(memory: Memory) -> list[Any]:
    conn = sqlite3.connect(memory.settings.store_path)
    try:
        tables = ("episodes", "memories", "memory_history", "vectors")
        return [sorted(map(repr, conn.execute(f"SELECT * FROM {t}"))) for t in tables]
    finally:
        conn.close()


def test_request_body_limit(root: Memory) -> None:
    token = bearer(root.keys.create().token)
    api = InProcess(create_app(root, max_body_bytes=4096))
    big = {"messages": "x" * 5000, "user_id": "ana"}
    body = assert_error(api.post("/v1/memories", json=big, headers=token), 413, "request_too_large")
    assert body["details"] == {"limit": 4096}

    async def chunks() -> Any:  # no Content-Length: the limit is enforced while reading
        for _ in range(10):
            yield b" " * 1000

    streamed = api.post(
        "/v1/memories", content=chunks(), headers={**token, "content-type": "application/json"}
    )
    assert_error(streamed, 413, "request_too_large")
    ok = api.post("/v1/memories", json={"messages": "small", "user_id": "ana"}, headers=token)
    assert ok.status_code == 201
    api.close()
    assert root.get_all().total == 1


def test_a_text_over_the_store_limit_is_413(tmp_path: Path) -> None:
    with Memory(tmp_path / "small.db", embedder="hash", max_text_chars=10) as memory:
        api = InProcess(create_app(memory, auth="local"))
        response = api.post("/v1/memories", json={"messages": "x" * 11, "user_id": "u"})
        api.close()
    assert_error(response, 413, "text_too_large")


def test_request_ids_are_taken_or_made_echoed_and_logged(
    api: InProcess, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="mnemos.server.access"):
        given = api.get("/v1/health", headers={"X-Request-ID": "trace-42.a:b"})
        made = api.get("/v1/health")
        refused = api.get("/v1/health", headers={"X-Request-ID": "bad id\twith spaces"})
    assert given.headers["x-request-id"] == "trace-42.a:b"
    assert len(made.headers["x-request-id"]) == 32
    assert refused.headers["x-request-id"] not in ("bad id\twith spaces", "")
    ids = [getattr(r, "request_id", None) for r in caplog.records]
    assert ids == [given.headers["x-request-id"], made.headers["x-request-id"],
                   refused.headers["x-request-id"]]  # fmt: skip
    assert "GET /v1/health 200" in caplog.records[0].getMessage()


def test_keys_are_required_and_revocation_is_immediate(
    api: InProcess, root: Memory, ana: dict[str, str]
) -> None:
    body = assert_error(api.get("/v1/memories"), 401, "unauthenticated")
    assert "mnemos keys create" in body["message"]
    assert api.get("/v1/memories").headers["www-authenticate"] == "Bearer"
    assert_error(api.get("/v1/memories", headers=bearer("mnemos_nope")), 401, "unauthenticated")
    issued = root.keys.create(user_ids=["ana"])
    headers = {"X-API-Key": issued.token}
    assert api.get("/v1/memories", headers=headers).status_code == 200
    root.keys.revoke(issued.key.id)
    assert_error(api.get("/v1/memories", headers=headers), 401, "unauthenticated")


def test_a_key_never_leaves_its_tenant_or_scopes(
    api: InProcess, root: Memory, ana: dict[str, str], admin: dict[str, str]
) -> None:
    bob_memory = add(api, admin, "bob's secret", user="bob")["memories"][0]["id"]
    other_tenant = bearer(root.keys.create(tenant="other").token)
    theirs = add(api, other_tenant, "another tenant's secret", user="ana")["memories"][0]["id"]
    mine = add(api, ana, "ana's note")["memories"][0]["id"]

    assert_error(api.post("/v1/memories", json={"messages": "x", "user_id": "bob"}, headers=ana),
                 403, "access_denied")  # fmt: skip
    for mid in (bob_memory, theirs):
        assert_error(api.get(f"/v1/memories/{mid}", headers=ana), 404, "not_found")
        assert_error(
            api.patch(f"/v1/memories/{mid}", json={"text": "x"}, headers=ana), 404, "not_found"
        )
        assert_error(api.delete(f"/v1/memories/{mid}", headers=ana), 404, "not_found")
        assert_error(api.get(f"/v1/memories/{mid}/history", headers=ana), 404, "not_found")
    assert_error(api.post("/v1/search", json={"query": "secret", "user_id": "bob"}, headers=ana),
                 403, "access_denied")  # fmt: skip
    assert [m["id"] for m in api.get("/v1/memories", headers=ana).json()["items"]] == [mine]
    hits = api.post("/v1/search", json={"query": "secret note", "user_id": "ana"}, headers=ana)
    assert [h["id"] for h in hits.json()["hits"]] == [mine]
    # The same user id in another tenant is another person.
    assert api.get(f"/v1/memories/{mine}", headers=other_tenant).status_code == 404
    assert root.scoped(tenant="other").get(theirs).text == "another tenant's secret"


def test_local_mode_serves_this_machine_only(root: Memory) -> None:
    app = create_app(root, auth="local")
    here = InProcess(app)
    assert here.post("/v1/memories", json={"messages": "x", "user_id": "u"}).status_code == 201
    assert here.get("/v1/health").json()["auth"] == "local"
    here.close()
    away = InProcess(app, client=("192.0.2.7", 40000))
    assert_error(away.get("/v1/memories"), 403, "access_denied")
    away.close()


def test_the_openapi_schema_is_published(api: InProcess) -> None:
    schema = api.get("/openapi.json").json()
    paths = schema["paths"]
    for path in ("/v1/memories", "/v1/memories/{memory_id}", "/v1/memories/{memory_id}/history",
                 "/v1/search", "/v1/context", "/v1/export", "/v1/health", "/v1/episodes",
                 "/v1/entities", "/v1/entities/search", "/v1/entities/{entity_id}",
                 "/v1/entities/{entity_id}/history"):  # fmt: skip
        assert path in paths, path
    assert set(paths["/v1/memories/{memory_id}"]) == {"get", "patch", "delete"}
    for path, operations in paths.items():
        for method, op in operations.items():
            if path == "/v1/health":
                continue
            for status in ("401", "404", "422", "500"):
                ref = op["responses"][status]["content"]["application/json"]["schema"]["$ref"]
                assert ref.endswith("/ErrorBody"), (path, method, status)
    assert "HTTPBearer" in schema["components"]["securitySchemes"]
    assert not any(p.startswith("/ui") for p in paths)
    assert api.get("/docs").status_code == 200


def test_the_dashboard_can_be_left_out(root: Memory) -> None:
    api = InProcess(create_app(root, dashboard=False))
    assert api.get("/ui/").status_code == 404
    api.close()


def test_a_bad_auth_mode_is_refused(root: Memory) -> None:
    from mnemos import InvalidInputError

    with pytest.raises(InvalidInputError):
        create_app(root, auth="none")  # type: ignore[arg-type]


@pytest.mark.parametrize(("blocked", "call", "extra"), [
    ("fastapi", "from mnemos.server import create_app; create_app(mnemos.Memory('x.db', embedder='hash'))", "server"),
    ("uvicorn", "from mnemos.server import require_server_extra; require_server_extra()", "server"),
    ("mcp", "from mnemos.mcp_server import build_server, ScopeResolver, McpScope\n"
            "m = mnemos.Memory('x.db', embedder='hash')\n"
            "build_server(ScopeResolver(m, 'config', McpScope(user_id='u')))", "mcp"),
])  # fmt: skip
def test_missing_extras_name_the_extra(tmp_path: Path, blocked: str, call: str, extra: str) -> None:
    code = (
        "import sys\n"
        f"sys.modules[{blocked!r}] = None\n"
        "import mnemos\n"
        "try:\n"
        + "".join(f"    {line}\n" for line in call.splitlines())
        + "except mnemos.MissingDependencyError as exc:\n"
        "    print('EXTRA', exc.details['extra'], exc.details['module'])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert out.stdout.split() == ["EXTRA", extra, blocked]


def test_the_cli_refuses_local_mode_on_a_public_address(capsys: pytest.CaptureFixture[str]) -> None:
    from mnemos.cli import main

    assert main(["--embedder", "hash", "serve", "--local", "--host", "0.0.0.0"]) == 2
    assert "binds only to 127.0.0.1" in capsys.readouterr().err


def test_undeclared_or_repeated_query_parameters_are_refused(
    api: InProcess, ana: dict[str, str]
) -> None:
    typo = assert_error(api.get("/v1/memories", params={"user": "bob"}, headers=ana), 422,
                        "invalid_request")  # fmt: skip
    assert typo["details"]["errors"] == [
        {"loc": ["query", "user"], "message": "unknown parameter", "type": "unknown_parameter"}
    ]
    twice = api.get("/v1/export", params=[("user_id", "ana"), ("user_id", "bob")], headers=ana)
    assert assert_error(twice, 422, "invalid_request")["details"]["errors"][0]["type"] == (
        "repeated_parameter"
    )
    kinds = api.get("/v1/memories", params=[("kind", "note"), ("kind", "fact")], headers=ana)
    assert kinds.status_code == 200
    # Without a key the answer is the 401, whatever else is wrong.
    assert_error(api.get("/v1/memories", params={"user": "x"}), 401, "unauthenticated")


def test_times_are_iso_8601_strings_only(api: InProcess, ana: dict[str, str]) -> None:
    for at in (0, 1713169800, "1713169800", "yesterday", "2024-02-30"):
        response = api.post("/v1/memories", json={"messages": "x", "user_id": "ana", "at": at},
                            headers=ana)  # fmt: skip
        assert_error(response, 422, "invalid_request")
    for at, stored in (("2024-04-15", "2024-04-15T00:00:00Z"),
                       ("2024-04-15T10:30:00+02:00", "2024-04-15T08:30:00Z"),
                       ("2024-04-15T08:30", "2024-04-15T08:30:00Z")):  # fmt: skip
        added = add(api, ana, f"at {at}", at=at)
        assert added["episodes"][0]["occurred_at"] == stored


def test_method_not_allowed_lists_every_allowed_method(api: InProcess, ana: dict[str, str]) -> None:
    response = api.request("PUT", "/v1/memories/some-id", headers=ana)
    assert_error(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "DELETE, GET, PATCH"


def test_entities(api: InProcess, root: Memory, ana: dict[str, str], admin: dict[str, str]) -> None:
    add(api, ana, "I moved to Lisbon with my sister Clara", at="2024-03-01")
    add(api, ana, "Clara started working at Quinta Labs", at="2024-04-01")
    add(api, admin, "Bob lives in Oslo", user="bob")
    listed = api.get("/v1/entities", params={"user_id": "ana"}, headers=ana).json()
    names = {e["name"]: e for e in listed["items"]}
    assert {"Lisbon", "Clara"} <= set(names)
    assert "Oslo" not in names
    assert all(e["user_id"] == "ana" and e["tenant"] == "acme" for e in listed["items"])
    places = api.get("/v1/entities", params={"kind": "place"}, headers=ana).json()
    assert {e["name"] for e in places["items"]} == {"Lisbon"}
    found = api.get("/v1/entities/search", params={"query": "clar"}, headers=ana).json()
    assert [e["name"] for e in found["items"]] == ["Clara"]
    clara = names["Clara"]["id"]
    assert api.get(f"/v1/entities/{clara}", headers=ana).json()["name"] == "Clara"
    history = api.get(f"/v1/entities/{clara}/history", headers=ana).json()
    assert {m["occurred_at"][:10] for m in history} == {"2024-03-01", "2024-04-01"}
    oslo = next(
        e["id"]
        for e in api.get("/v1/entities", headers=admin).json()["items"]
        if e["name"] == "Oslo"
    )
    assert_error(api.get(f"/v1/entities/{oslo}", headers=ana), 404, "not_found")
    assert_error(api.get(f"/v1/entities/{oslo}/history", headers=ana), 404, "not_found")
    assert_error(
        api.get("/v1/entities", params={"user_id": "bob"}, headers=ana), 403, "access_denied"
    )
    assert_error(
        api.get("/v1/entities", params={"kind": "planet"}, headers=ana), 422, "invalid_request"
    )
    other = bearer(root.keys.create(tenant="other").token)
    assert api.get("/v1/entities", headers=other).json()["total"] == 0


def test_request_bodies_take_json_types_only(api: InProcess, ana: dict[str, str]) -> None:
    def search(**extra: Any) -> Any:
        return api.post("/v1/search", json={"query": "x", "user_id": "ana", **extra}, headers=ana)

    for ok in ({"limit": 5}, {"limit": 5.0}, {"config": {"rrf_k": 30.0, "weights": {"bm25": 1}}},
               {"config": {"weights": {"graph": 5e-324}}}, {"budget_tokens": 1}):  # fmt: skip
        assert search(**ok).status_code == 200, ok
    for bad in ({"limit": True}, {"limit": "5"}, {"limit": 5.5}, {"config": {"rrf_k": True}},
                {"config": {"collapse": 1}}, {"config": {"weights": {"bm25": 0}}},
                {"config": {"weights": {"nope": 1}}},
                {"config": {"fields": {"body": 1.1e308}}}, {"budget_tokens": 0}):  # fmt: skip
        assert_error(search(**bad), 422, "invalid_request")


def test_a_validation_error_names_the_field_that_failed(
    api: InProcess, ana: dict[str, str]
) -> None:
    body = {"user_id": "ana", "messages": ["fine", {"content": "x", "at": "2023-02-29"}]}
    error = assert_error(api.post("/v1/memories", json=body, headers=ana), 422, "invalid_request")
    assert error["message"].startswith("body.messages.1.at: ")
    assert all("MessageIn" not in e["loc"] for e in error["details"]["errors"])
