"""What every Store backend must do with API keys (the KeyStore part of the protocol)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mnemos.errors import ConflictError
from mnemos.keys import ApiKey
from mnemos.storage.base import Store
from tests.storage.test_contract import BACKENDS, DIM

T0 = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(params=sorted(BACKENDS))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    opened = BACKENDS[request.param](tmp_path / "keys.db")
    opened.bind_embedder("test-embedder", DIM)
    yield opened
    opened.close()


def key(
    key_id: str, tenant: str = "t1", users: list[str] | None = None, minutes: int = 0
) -> ApiKey:
    return ApiKey(id=key_id, tenant=tenant, name=f"key {key_id}", user_ids=users,
                  created_at=T0 + timedelta(minutes=minutes))  # fmt: skip


def test_a_key_reads_back_with_its_hash(store: Store) -> None:
    k = key("00000000000000a1", users=["ana", "bob"])
    store.insert_key(k, "h" * 64)
    assert store.get_key(k.id) == (k, "h" * 64)
    assert store.get_key("00000000000000ff") is None


def test_unrestricted_and_unnamed_keys_round_trip(store: Store) -> None:
    k = ApiKey(id="00000000000000a2", tenant="t1", created_at=T0)
    store.insert_key(k, "x")
    found = store.get_key(k.id)
    assert found is not None
    assert found[0] == k
    assert found[0].user_ids is None


def test_duplicate_ids_conflict(store: Store) -> None:
    store.insert_key(key("00000000000000a3"), "x")
    with pytest.raises(ConflictError):
        store.insert_key(key("00000000000000a3", tenant="t2"), "y")
    found = store.get_key("00000000000000a3")
    assert found is not None
    assert found[0].tenant == "t1"


def test_listing_is_per_tenant_or_all_oldest_first(store: Store) -> None:
    store.insert_key(key("00000000000000b2", "t1", minutes=2), "x")
    store.insert_key(key("00000000000000b1", "t1", minutes=1), "x")
    store.insert_key(key("00000000000000c1", "t2", minutes=0), "x")
    assert [k.id for k in store.list_keys("t1")] == ["00000000000000b1", "00000000000000b2"]
    assert [k.id for k in store.list_keys(None)] == [
        "00000000000000c1", "00000000000000b1", "00000000000000b2"]  # fmt: skip
    assert store.list_keys("nobody") == []


def test_revoking_keeps_the_first_time(store: Store) -> None:
    store.insert_key(key("00000000000000d1"), "x")
    first = store.revoke_key("00000000000000d1", T0 + timedelta(hours=1))
    again = store.revoke_key("00000000000000d1", T0 + timedelta(hours=2))
    assert first is not None
    assert again is not None
    assert first.revoked_at == again.revoked_at == T0 + timedelta(hours=1)
    assert store.revoke_key("00000000000000ee", T0) is None


def test_keys_survive_reopening(tmp_path: Path) -> None:
    for name, make in BACKENDS.items():
        path = tmp_path / f"{name}.db"
        s = make(path)
        s.insert_key(key("00000000000000f1"), "x")
        s.close()
        s = make(path)
        assert s.get_key("00000000000000f1") is not None
        s.close()
