"""No API key ever reads or writes outside its tenant and user scopes.

A Hypothesis state machine drives the REST API (in process) with keys of two tenants,
bound to different user scopes, and a revoked one. Each step is a random operation aimed at
any record of any tenant, with scope ids of its own choosing in the body and query. The
store is read directly before and after every request: whatever changed must lie inside the
acting key's tenant and scopes, and a refused request must change nothing. Every answer is
checked against what the key may see of the store. The number of operations run is written
to ``artifacts/leak-test.txt``.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule

from mnemos import Memory
from mnemos.models import MEMORY_STATUSES
from mnemos.server import create_app
from tests.server.conftest import ARTIFACTS, InProcess

USERS = ("u1", "u2", "u3")
WORDS = ("apple", "secret", "lisbon", "cello", "puppy", "budget")
MISSING = "00000000-0000-4000-8000-000000000000"


@dataclass(frozen=True)
class Key:
    name: str
    tenant: str
    users: frozenset[str] | None
    revoked: bool = False

    def reaches(self, tenant: str, user: str) -> bool:
        return (
            not self.revoked
            and tenant == self.tenant
            and (self.users is None or user in self.users)
        )


KEYS = (
    Key("A-all", "A", None),
    Key("A-u1", "A", frozenset({"u1"})),
    Key("A-u1u2", "A", frozenset({"u1", "u2"})),
    Key("B-all", "B", None),
    Key("B-u1", "B", frozenset({"u1"})),
    Key("A-revoked", "A", frozenset({"u1"}), revoked=True),
)


@dataclass
class Stored:
    tenant: str
    user: str
    text: str
    status: str = "active"
    version: int = 1


@dataclass
class Tally:
    operations: int = 0
    leaks: list[str] = field(default_factory=list)


TALLY = Tally()


class TenancyMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="mnemos-leak-"))
        self.memory = Memory(self.folder / "leak.db", embedder="hash")
        self.tokens: dict[str, str] = {}
        for key in KEYS:
            issued = self.memory.keys.create(
                tenant=key.tenant, user_ids=None if key.users is None else sorted(key.users)
            )
            if key.revoked:
                self.memory.keys.revoke(issued.key.id)
            self.tokens[key.name] = issued.token
        self.api = InProcess(create_app(self.memory, dashboard=False))
        self.model: dict[str, Stored] = {}
        self.entities: dict[str, tuple[str, str]] = {}  # entity id -> (tenant, user)

    def teardown(self) -> None:
        self.api.close()
        self.memory.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    # -- helpers -------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Stored]:
        """Every memory of both tenants, in any status, read from the store itself."""
        out: dict[str, Stored] = {}
        for tenant in ("A", "B"):
            view = self.memory.scoped(tenant=tenant)
            found = view.get_all(filters={"status": list(MEMORY_STATUSES)}, limit=1000).items
            for m in found:
                out[m.id] = Stored(tenant, m.user_id, m.text, m.status, m.version)
        return out

    def call(self, key: Key, method: str, url: str, **kwargs: Any) -> Any:
        TALLY.operations += 1
        before = self.model
        headers = {"Authorization": f"Bearer {self.tokens[key.name]}"}
        response = self.api.request(method, url, headers=headers, **kwargs)
        after = self.snapshot()
        changed = {mid for mid in before.keys() | after.keys() if before.get(mid) != after.get(mid)}
        for mid in changed:
            where = after.get(mid) or before[mid]
            self.expect(
                key.reaches(where.tenant, where.user),
                key,
                f"{method} {url} changed {where.tenant}/{where.user}'s memory {mid}",
            )
        if response.status_code >= 400:
            self.expect(not changed, key, f"refused {method} {url} still changed the store")
        if key.revoked:
            self.expect(response.status_code == 401, key, f"{method} {url} with a revoked key")
        self.model = after
        return response

    def expect(self, ok: bool, key: Key, what: str) -> None:
        if not ok:
            TALLY.leaks.append(f"{key.name}: {what}")
        assert ok, f"{key.name}: {what}"

    def check_record(self, key: Key, record: dict[str, Any], what: str) -> None:
        self.expect(
            key.reaches(record["tenant"], record["user_id"]),
            key,
            f"{what} returned {record['tenant']}/{record['user_id']}",
        )

    def target(self, data: st.DataObject) -> str:
        ids = sorted(self.model)
        return data.draw(st.sampled_from([*ids, MISSING]) if ids else st.just(MISSING))

    def visible(self, key: Key, user: str | None, statuses: tuple[str, ...]) -> set[str]:
        return {
            mid
            for mid, s in self.model.items()
            if key.reaches(s.tenant, s.user)
            and (user is None or s.user == user)
            and s.status in statuses
        }

    # -- rules ---------------------------------------------------------------------------

    @rule(key=st.sampled_from(KEYS), user=st.sampled_from(USERS), data=st.data())
    def add(self, key: Key, user: str, data: st.DataObject) -> None:
        text = " ".join(data.draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=4)))
        body: dict[str, Any] = {"messages": text, "user_id": user}
        if data.draw(st.booleans()):
            # A body that names a tenant is refused outright, whatever the tenant.
            body["tenant"] = data.draw(st.sampled_from(["A", "B"]))
        response = self.call(key, "POST", "/v1/memories", json=body)
        if key.revoked:
            return
        if "tenant" in body:
            self.expect(response.status_code == 422, key, "a body naming a tenant was accepted")
            return
        if not key.reaches(key.tenant, user):
            self.expect(response.status_code == 403, key, f"wrote into user {user}")
            return
        self.expect(
            response.status_code == 201, key, f"could not write its own scope: {response.text}"
        )
        for record in response.json()["memories"]:
            self.check_record(key, record, "add")
            self.expect(record["id"] in self.model, key, "an acknowledged write is not stored")
        # Learn the scope's entity ids from the store itself, to aim lookups at them later.
        view = self.memory.scoped(tenant=key.tenant)
        for entity in view.entities.list(user_id=user, limit=1000).items:
            self.entities[entity.id] = (entity.tenant, entity.user_id)

    @rule(key=st.sampled_from(KEYS), data=st.data())
    def get(self, key: Key, data: st.DataObject) -> None:
        mid = self.target(data)
        suffix = data.draw(st.sampled_from(["", "/history", "/evidence"]))
        response = self.call(key, "GET", f"/v1/memories/{mid}{suffix}")
        if key.revoked:
            return
        stored = self.model.get(mid)
        if stored is None or not key.reaches(stored.tenant, stored.user):
            self.expect(response.status_code == 404, key, f"saw memory {mid}{suffix}")
            return
        self.expect(response.status_code == 200, key, f"could not read its own {mid}")
        if suffix == "":
            self.check_record(key, response.json(), "get")
        elif suffix == "/evidence":
            for episode in response.json():
                self.check_record(key, episode, "evidence")

    @rule(
        key=st.sampled_from(KEYS),
        user=st.sampled_from((None, *USERS)),
        status=st.sampled_from((None, "active", "deleted")),
        sneaky=st.booleans(),
    )
    def list(self, key: Key, user: str | None, status: str | None, sneaky: bool) -> None:
        params: dict[str, Any] = {"limit": 1000}
        if user:
            params["user_id"] = user
        if status:
            params["status"] = status
        if sneaky:  # a query parameter the route does not declare is refused
            params["tenant"] = "B" if key.tenant == "A" else "A"
        response = self.call(key, "GET", "/v1/memories", params=params)
        if key.revoked:
            return
        if sneaky:
            self.expect(response.status_code == 422, key, "a query naming a tenant was accepted")
            return
        if user and not key.reaches(key.tenant, user):
            self.expect(response.status_code == 403, key, f"listed user {user}")
            return
        page = response.json()
        for record in page["items"]:
            self.check_record(key, record, "list")
        expected = self.visible(key, user, (status or "active",))
        self.expect({r["id"] for r in page["items"]} == expected, key, "listing differs from model")

    @rule(key=st.sampled_from(KEYS), user=st.sampled_from(USERS), word=st.sampled_from(WORDS))
    def search(self, key: Key, user: str, word: str) -> None:
        response = self.call(
            key, "POST", "/v1/search", json={"query": word, "user_id": user, "limit": 100}
        )
        if key.revoked:
            return
        if not key.reaches(key.tenant, user):
            self.expect(response.status_code == 403, key, f"searched user {user}")
            return
        hits = response.json()["hits"]
        allowed = self.visible(key, user, ("active",))
        for hit in hits:
            self.expect(hit["id"] in allowed, key, f"search returned {hit['id']}")
            self.expect(hit["user_id"] == user, key, "search crossed users")

    @rule(key=st.sampled_from(KEYS), user=st.sampled_from(USERS))
    def context(self, key: Key, user: str) -> None:
        response = self.call(
            key, "POST", "/v1/context", json={"query": "secret apple", "user_id": user}
        )
        if key.revoked:
            return
        if not key.reaches(key.tenant, user):
            self.expect(response.status_code == 403, key, f"context of user {user}")
            return
        allowed = self.visible(key, user, ("active",))
        for hit in response.json()["hits"]:
            self.expect(hit["id"] in allowed, key, "context used a foreign memory")

    @rule(key=st.sampled_from(KEYS), data=st.data(), word=st.sampled_from(WORDS))
    def update(self, key: Key, data: st.DataObject, word: str) -> None:
        mid = self.target(data)
        stored = self.model.get(mid)
        response = self.call(key, "PATCH", f"/v1/memories/{mid}", json={"text": f"edited {word}"})
        if key.revoked:
            return
        if stored is None or not key.reaches(stored.tenant, stored.user):
            self.expect(response.status_code == 404, key, f"updated {mid}")
            return
        if stored.status == "deleted":
            self.expect(response.status_code == 409, key, "updated a deleted memory")
            return
        self.expect(response.status_code == 200, key, f"could not update its own: {response.text}")
        self.expect(self.model[mid].text == f"edited {word}", key, "an update did not land")

    @rule(key=st.sampled_from(KEYS), data=st.data())
    def delete_or_restore(self, key: Key, data: st.DataObject) -> None:
        mid = self.target(data)
        stored = self.model.get(mid)
        restoring = stored is not None and stored.status == "deleted"
        if restoring:
            response = self.call(key, "POST", f"/v1/memories/{mid}/restore")
        else:
            response = self.call(key, "DELETE", f"/v1/memories/{mid}")
        if key.revoked:
            return
        if stored is None or not key.reaches(stored.tenant, stored.user):
            self.expect(response.status_code == 404, key, f"deleted or restored {mid}")
            return
        self.expect(response.status_code == 200, key, f"could not change its own: {response.text}")
        landed = self.model[mid].status
        self.expect((landed == "deleted") != restoring, key, "the delete or restore did not land")

    @rule(key=st.sampled_from(KEYS), user=st.sampled_from((None, *USERS)))
    def export(self, key: Key, user: str | None) -> None:
        params = {"user_id": user} if user else {}
        response = self.call(key, "GET", "/v1/export", params=params)
        if key.revoked:
            return
        if user and not key.reaches(key.tenant, user):
            self.expect(response.status_code == 403, key, f"exported user {user}")
            return
        for line in response.text.splitlines():
            row = json.loads(line)
            if row["type"] == "header":
                self.expect(row["tenant"] == key.tenant, key, "export header names another tenant")
            record = row.get("record", {})
            if row["type"] == "history":
                owner = self.model.get(record["memory_id"])
                self.expect(
                    owner is not None and key.reaches(owner.tenant, owner.user),
                    key,
                    "export carried a foreign history event",
                )
            if "user_id" in record:
                self.expect(
                    key.reaches(key.tenant, record["user_id"]), key, "export crossed scopes"
                )
            if "tenant" in record:
                self.expect(record["tenant"] == key.tenant, key, "export crossed tenants")

    @rule(key=st.sampled_from(KEYS), user=st.sampled_from((None, *USERS)))
    def episodes(self, key: Key, user: str | None) -> None:
        params: dict[str, Any] = {"limit": 1000, **({"user_id": user} if user else {})}
        response = self.call(key, "GET", "/v1/episodes", params=params)
        if key.revoked:
            return
        if user and not key.reaches(key.tenant, user):
            self.expect(response.status_code == 403, key, f"listed episodes of {user}")
            return
        for episode in response.json()["items"]:
            self.check_record(key, episode, "episodes")

    @rule(
        key=st.sampled_from(KEYS),
        user=st.sampled_from((None, *USERS)),
        word=st.sampled_from((None, *WORDS)),
    )
    def entities_listed(self, key: Key, user: str | None, word: str | None) -> None:
        params: dict[str, Any] = {"limit": 1000, **({"user_id": user} if user else {})}
        if word:
            response = self.call(
                key, "GET", "/v1/entities/search", params={**params, "query": word}
            )
        else:
            response = self.call(key, "GET", "/v1/entities", params=params)
        if key.revoked:
            return
        if user and not key.reaches(key.tenant, user):
            self.expect(response.status_code == 403, key, f"listed entities of {user}")
            return
        for entity in response.json()["items"]:
            self.check_record(key, entity, "entities")

    @rule(key=st.sampled_from(KEYS), data=st.data(), history=st.booleans())
    def entity(self, key: Key, data: st.DataObject, history: bool) -> None:
        ids = sorted(self.entities)
        eid = data.draw(st.sampled_from([*ids, MISSING]) if ids else st.just(MISSING))
        response = self.call(key, "GET", f"/v1/entities/{eid}{'/history' if history else ''}")
        if key.revoked:
            return
        owner = self.entities.get(eid)
        if owner is None or not key.reaches(*owner):
            self.expect(response.status_code == 404, key, f"saw entity {eid}")
            return
        self.expect(response.status_code == 200, key, f"could not read its own entity {eid}")
        for record in response.json() if history else [response.json()]:
            self.check_record(key, record, "entity")


TenancyMachine.TestCase.settings = settings(
    max_examples=40,
    stateful_step_count=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
test_no_key_ever_leaves_its_tenant_or_scopes = TenancyMachine.TestCase


@pytest.fixture(scope="module", autouse=True)
def _report() -> Any:
    yield
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "leak-test.txt").write_text(
        f"operations: {TALLY.operations}\nleaks: {len(TALLY.leaks)}\n"
        + "".join(f"  {leak}\n" for leak in TALLY.leaks)
    )
    assert TALLY.operations >= 2000, TALLY.operations
    assert TALLY.leaks == []
