"""API keys through the facade: shown once, stored hashed, bound, revocable at once."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import pytest

from mnemos import (
    AccessDeniedError,
    ApiKey,
    AsyncMemory,
    AuthenticationError,
    InvalidInputError,
    Memory,
    NotFoundError,
)
from mnemos.cli import main
from mnemos.keys import hash_token, parse_token


def test_a_key_is_bound_to_a_tenant_and_user_scopes(mem: Memory) -> None:
    issued = mem.keys.create(tenant="acme", user_ids=["bob", "ana", "ana"], name="support bot")
    assert issued.key.tenant == "acme"
    assert issued.key.user_ids == ["ana", "bob"]
    assert issued.key.active
    assert mem.keys.authenticate(issued.token) == issued.key
    assert mem.keys.get(issued.key.id) == issued.key
    default = mem.keys.create()
    assert default.key.tenant == "default"
    assert default.key.user_ids is None


def test_the_token_is_high_entropy_and_only_its_hash_is_stored(mem: Memory, tmp_path: Path) -> None:
    tokens = {mem.keys.create().token for _ in range(20)}
    assert len(tokens) == 20
    for token in tokens:
        key_id = parse_token(token)
        assert key_id is not None
        assert len(token.split("_", 2)[2]) == 43  # 32 random bytes, base64url
    mem.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("mem.db*"))
    conn = sqlite3.connect(tmp_path / "mem.db")
    hashes = {h for (h,) in conn.execute("SELECT token_hash FROM api_keys")}
    conn.close()
    for token in tokens:
        assert token.encode() not in raw
        secret = token.split("_", 2)[2]
        assert secret.encode() not in raw
        assert hash_token(token) in hashes


def test_revocation_takes_effect_on_the_next_check(mem: Memory) -> None:
    issued = mem.keys.create(user_ids=["ana"])
    other = mem.keys.create(user_ids=["ana"])
    revoked = mem.keys.revoke(issued.key.id)
    assert not revoked.active
    with pytest.raises(AuthenticationError):
        mem.keys.authenticate(issued.token)
    assert mem.keys.authenticate(other.token) == other.key
    assert mem.keys.revoke(issued.key.id).revoked_at == revoked.revoked_at
    assert [k.id for k in mem.keys.list()] == [other.key.id]
    assert {k.id for k in mem.keys.list(include_revoked=True)} == {issued.key.id, other.key.id}


@pytest.mark.parametrize(
    "token",
    ["", "mnemos", "Bearer x", "mnemos_0123456789abcdef_" + "A" * 43, "x" * 10_000, None, 42],
)
def test_bad_tokens_all_get_the_same_error(mem: Memory, token: object) -> None:
    mem.keys.create()
    with pytest.raises(AuthenticationError, match="missing, unknown or revoked"):
        mem.keys.authenticate(token)  # type: ignore[arg-type]


def test_a_tampered_secret_is_refused(mem: Memory) -> None:
    token = mem.keys.create().token
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    with pytest.raises(AuthenticationError):
        mem.keys.authenticate(flipped)


def test_listing_by_tenant(mem: Memory) -> None:
    a = mem.keys.create(tenant="a")
    b = mem.keys.create(tenant="b")
    assert [k.id for k in mem.keys.list(tenant="a")] == [a.key.id]
    assert {k.id for k in mem.keys.list()} == {a.key.id, b.key.id}


@pytest.mark.parametrize(
    "kwargs",
    [
        {"user_ids": "ana"},
        {"user_ids": []},
        {"user_ids": [""]},
        {"user_ids": ["a\x00"]},
        {"tenant": " "},
        {"name": ""},
        {"name": "x" * 201},
    ],
)
def test_bad_key_requests_are_refused_and_store_nothing(mem: Memory, kwargs: dict) -> None:
    with pytest.raises(InvalidInputError):
        mem.keys.create(**kwargs)
    assert mem.keys.list(include_revoked=True) == []


def test_unknown_or_malformed_key_ids(mem: Memory) -> None:
    with pytest.raises(NotFoundError):
        mem.keys.revoke("0123456789abcdef")
    with pytest.raises(NotFoundError):
        mem.keys.get("0123456789abcdef")
    with pytest.raises(InvalidInputError):
        mem.keys.revoke("../etc")


def test_a_memory_confined_to_users_cannot_manage_keys(mem: Memory) -> None:
    view = mem.scoped(user_ids=["ana"])
    with pytest.raises(AccessDeniedError):
        view.keys.create(user_ids=["bob"])
    with pytest.raises(AccessDeniedError):
        view.keys.list()
    assert mem.scoped(tenant="other").keys.create().key.tenant == "other"


def test_the_async_twin(tmp_path: Path) -> None:
    async def run() -> ApiKey:
        async with AsyncMemory(tmp_path / "a.db", embedder="hash") as amem:
            issued = await amem.keys.create(user_ids=["ana"])
            assert await amem.keys.authenticate(issued.token) == issued.key
            assert await amem.keys.get(issued.key.id) == issued.key
            assert [k.id for k in await amem.keys.list()] == [issued.key.id]
            return await amem.keys.revoke(issued.key.id)

    assert not asyncio.run(run()).active


def test_the_keys_commands(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    store = ["--store", str(tmp_path / "cli.db"), "--embedder", "hash"]
    for sub in ("create", "list", "revoke"):
        assert main(["keys", sub, "--help"]) == 0
        text = capsys.readouterr().out
        assert "Example:" in text
        assert f"mnemos keys {sub}" in text
    assert (
        main([*store, "--tenant", "acme", "keys", "create", "--user", "ana", "--name", "bot"]) == 0
    )
    out = capsys.readouterr().out
    token = out.strip().splitlines()[-1]
    assert parse_token(token) is not None
    assert "shown once" in out
    assert main([*store, "--tenant", "acme", "keys", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(k["tenant"], k["user_ids"], k["name"]) for k in listed] == [("acme", ["ana"], "bot")]
    assert "token" not in json.dumps(listed)
    assert main([*store, "keys", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main([*store, "keys", "list", "--all-tenants"]) == 0
    assert listed[0]["id"] in capsys.readouterr().out
    assert main([*store, "keys", "revoke", listed[0]["id"]]) == 0
    assert "revoked" in capsys.readouterr().out
    assert main([*store, "keys", "revoke", "0123456789abcdef"]) == 1
    assert "no API key" in capsys.readouterr().err
