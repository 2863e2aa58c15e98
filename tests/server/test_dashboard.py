"""The /ui dashboard in process: sign-in, pages, edits with confirmation, CSRF, escaping."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from mnemos import Memory
from mnemos.server import create_app
from mnemos.server.ui import COOKIE, changes, word_diff
from tests.server.conftest import InProcess


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert match, html
    return match.group(1)


def seed(memory: Memory, tenant: str = "acme") -> dict[str, str]:
    view = memory.scoped(tenant=tenant)
    first = view.add(
        [{"role": "user", "name": "Ana", "content": "I moved to Lisbon last month"},
         {"role": "assistant", "name": "Mnemo", "content": "How are you finding Lisbon?"}],
        user_id="ana", session_id="s1", at="2024-04-15T08:30:00Z", metadata={"topic": "home"},
    )  # fmt: skip
    second = view.add("I adopted a cat called Miso", user_id="ana", at="2024-05-02T10:00:00Z")
    bob = view.add("Bob's private note", user_id="bob", at="2024-05-03T10:00:00Z")

    def note(result: Any, text: str) -> str:
        return next(m.id for m in result.memories if m.kind == "note" and m.text == text)

    return {
        "lisbon": note(first, "I moved to Lisbon last month"),
        "reply": note(first, "How are you finding Lisbon?"),
        "miso": note(second, "I adopted a cat called Miso"),
        "bob": note(bob, "Bob's private note"),
        "episode": first.episodes[0].id,
    }


@pytest.fixture
def ids(root: Memory) -> dict[str, str]:
    return seed(root)


@pytest.fixture
def ui(root: Memory, ids: dict[str, str]) -> Iterator[InProcess]:
    """Signed in as a key of tenant acme bound to user ana."""
    client = InProcess(create_app(root))
    token = root.keys.create(tenant="acme", user_ids=["ana"], name="ana's dashboard").token
    response = client.post("/ui/login", data={"key": token, "next": "/ui/memories"})
    assert response.status_code == 303
    assert response.headers["location"] == "/ui/memories"
    cookie = response.headers["set-cookie"]
    assert f"{COOKIE}=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Path=/ui" in cookie
    yield client
    client.close()


def test_sign_in_is_required_and_checked(root: Memory) -> None:
    client = InProcess(create_app(root))
    page = client.get("/ui/memories?user=ana")
    assert page.status_code == 303
    assert page.headers["location"] == "/ui/login?next=%2Fui%2Fmemories%3Fuser%3Dana"
    form = client.get("/ui/login?next=/ui/memories")
    assert 'name="next" value="/ui/memories"' in form.text
    wrong = client.post("/ui/login", data={"key": "mnemos_nope", "next": "/ui/"})
    assert wrong.status_code == 401
    assert "unknown or revoked" in wrong.text
    assert "set-cookie" not in wrong.headers
    token = root.keys.create().token
    outward = client.post("/ui/login", data={"key": token, "next": "https://evil.example/"})
    assert outward.headers["location"] == "/ui/"
    assert client.get("/ui/").status_code == 200
    assert client.post("/ui/logout").headers["location"] == "/ui/login"
    client.close()


def test_a_revoked_key_is_signed_out_on_its_next_click(root: Memory, ids: dict[str, str]) -> None:
    client = InProcess(create_app(root))
    issued = root.keys.create(tenant="acme", user_ids=["ana"])
    client.post("/ui/login", data={"key": issued.token})
    assert client.get("/ui/memories").status_code == 200
    root.keys.revoke(issued.key.id)
    page = client.get("/ui/memories")
    assert page.status_code == 303
    assert "bad=1" in page.headers["location"]
    client.close()


def test_overview(ui: InProcess) -> None:
    page = ui.get("/ui/").text
    assert "acme" in page
    assert "users: ana" in page
    assert "I adopted a cat called Miso" in page
    assert "Bob" not in page
    assert "/ui/timeline?user=ana" in page
    assert "server.db" not in page  # a key holder does not learn the server's paths


def test_browse_filter_and_search(ui: InProcess, root: Memory, ids: dict[str, str]) -> None:
    page = ui.get("/ui/memories").text
    # Three notes, and what derivation took from them.
    derived = root.scoped(tenant="acme").get_all(user_id="ana").total
    assert derived > 3
    assert f"{derived} memories of ana" in page
    assert "Bob" not in page
    dated = ui.get("/ui/memories?from=2024-05-01&to=2024-05-02").text
    assert "I adopted a cat called Miso" in dated
    assert "Lisbon" not in dated.split("<tbody>")[1]
    assert "No memories match" in ui.get("/ui/memories?kind=fact").text
    hits = ui.get("/ui/memories?q=cat+Miso&user=ana").text
    assert 'data-testid="hit-table"' in hits
    assert hits.index("I adopted a cat called Miso") < hits.index("Lisbon")
    assert "not a date" in ui.get("/ui/memories?from=yesterday").text
    denied = ui.get("/ui/memories?user=bob")
    assert denied.status_code == 403
    assert "outside the scopes" in denied.text


def test_paging_links(root: Memory) -> None:
    for i in range(60):
        root.add(f"note {i}", user_id="u", at=f"2024-01-01T00:{i:02d}:00Z")
    client = InProcess(create_app(root, auth="local"))
    first = client.get("/ui/memories?user=u").text
    assert "60 memories of u; showing 1–50" in first
    assert "/ui/memories?user=u&amp;offset=50" in first
    second = client.get("/ui/memories?user=u&offset=50").text
    assert "showing 51–60" in second
    assert "Newer" in second
    client.close()


def test_a_memory_page_shows_evidence_validity_and_history(
    ui: InProcess, ids: dict[str, str]
) -> None:
    page = ui.get(f"/ui/memories/{ids['lisbon']}").text
    assert "I moved to Lisbon last month" in page
    assert "2024-04-15 08:30" in page
    assert "still true" in page
    assert "&#34;topic&#34;: &#34;home&#34;" in page or "&quot;topic&quot;" in page
    assert f"/ui/episodes/{ids['episode']}" in page
    assert "version 1" in page
    assert ui.get(f"/ui/memories/{ids['bob']}").status_code == 404
    episode = ui.get(f"/ui/episodes/{ids['episode']}").text
    assert "never edited" in episode


def test_editing_asks_for_confirmation_then_writes_a_version(
    ui: InProcess, root: Memory, ids: dict[str, str]
) -> None:
    mid = ids["lisbon"]
    form = ui.get(f"/ui/memories/{mid}/edit").text
    token = csrf_of(form)
    fields = {"csrf": token, "text": "I moved to Porto last month", "metadata": '{"topic": "home"}',
              "reason": "wrong city"}  # fmt: skip
    preview = ui.post(f"/ui/memories/{mid}/edit", data=fields)
    assert preview.status_code == 200
    assert "<del>Lisbon</del> <ins>Porto</ins>" in preview.text
    assert 'name="confirm" value="yes"' in preview.text
    assert root.scoped(tenant="acme").get(mid).version == 1  # nothing written yet
    saved = ui.post(f"/ui/memories/{mid}/edit", data={**fields, "confirm": "yes"})
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/ui/memories/{mid}?done=updated"
    record = root.scoped(tenant="acme").get(mid)
    assert (record.text, record.version) == ("I moved to Porto last month", 2)
    page = ui.get(saved.headers["location"]).text
    assert "Saved a new version." in page
    assert "“wrong city”" in page
    assert "<del>Lisbon</del> <ins>Porto</ins>" in page


@pytest.mark.parametrize(
    ("metadata", "error"),
    [("{not json", "not valid JSON"), ("[1, 2]", "must be a JSON object"),
     ('{"topic": "home"}', "Nothing changed")],
)  # fmt: skip
def test_bad_edits_change_nothing(
    ui: InProcess, root: Memory, ids: dict[str, str], metadata: str, error: str
) -> None:
    mid = ids["lisbon"]
    token = csrf_of(ui.get(f"/ui/memories/{mid}/edit").text)
    text = "I moved to Lisbon last month"
    response = ui.post(
        f"/ui/memories/{mid}/edit",
        data={"csrf": token, "text": text, "metadata": metadata, "confirm": "yes"},
    )
    assert response.status_code == 400
    assert error in response.text
    assert root.scoped(tenant="acme").get(mid).version == 1


def test_delete_needs_confirmation_and_can_be_undone(
    ui: InProcess, root: Memory, ids: dict[str, str]
) -> None:
    mid = ids["miso"]
    confirm = ui.get(f"/ui/memories/{mid}/delete").text
    assert "Delete this memory?" in confirm
    assert root.scoped(tenant="acme").get(mid).status == "active"
    done = ui.post(f"/ui/memories/{mid}/delete", data={"csrf": csrf_of(confirm), "reason": "typo"})
    assert done.headers["location"] == f"/ui/memories/{mid}?done=deleted"
    assert root.scoped(tenant="acme").get(mid).status == "deleted"
    page = ui.get(done.headers["location"]).text
    assert "restore it below" in page
    restored = ui.post(f"/ui/memories/{mid}/restore", data={"csrf": csrf_of(page)})
    assert restored.status_code == 303
    assert root.scoped(tenant="acme").get(mid).status == "active"


def test_forms_without_the_right_csrf_token_are_refused(
    ui: InProcess, root: Memory, ids: dict[str, str]
) -> None:
    mid = ids["miso"]
    for data in ({}, {"csrf": "0" * 32}):
        response = ui.post(f"/ui/memories/{mid}/delete", data=data)
        assert response.status_code == 400
        assert "stale" in response.text
    other = InProcess(create_app(root))
    other.post("/ui/login", data={"key": root.keys.create(tenant="acme").token})
    foreign = csrf_of(other.get(f"/ui/memories/{mid}/delete").text)
    assert ui.post(f"/ui/memories/{mid}/delete", data={"csrf": foreign}).status_code == 400
    other.close()
    assert root.scoped(tenant="acme").get(mid).status == "active"


def test_timeline_groups_episodes_by_day_with_their_memories(
    ui: InProcess, ids: dict[str, str]
) -> None:
    page = ui.get("/ui/timeline").text
    assert "3 episodes of ana" in page
    assert page.index("Monday 15 April 2024") < page.index("Thursday 02 May 2024")
    assert f"/ui/memories/{ids['lisbon']}" in page
    assert "Bob" not in page
    session = ui.get("/ui/timeline?user=ana&session=s1").text
    assert "2 episodes of ana in session s1" in session


def test_entities_their_pages_and_the_graph(ui: InProcess, ids: dict[str, str]) -> None:
    listing = ui.get("/ui/entities").text
    assert "Lisbon" in listing
    assert "Miso" in listing
    assert "Bob" not in listing
    lisbon = re.search(r'href="/ui/entities/([^"]+)">Lisbon<', listing)
    assert lisbon
    page = ui.get(f"/ui/entities/{lisbon.group(1)}").text
    assert 'data-testid="entity-name">Lisbon<' in page
    assert "I moved to Lisbon last month" in page
    assert "place" in page
    memory = ui.get(f"/ui/memories/{ids['lisbon']}").text
    assert f'href="/ui/entities/{lisbon.group(1)}"' in memory
    assert "Lisbon" in ui.get("/ui/entities?q=lis").text
    assert "No entities." in ui.get("/ui/entities?kind=organization").text
    graph = ui.get("/ui/graph.json").json()
    labels = {n["id"]: n["label"] for n in graph["nodes"]}
    assert "Lisbon" in labels.values()
    assert "Bob" not in labels.values()
    assert all(e["source"] in labels and e["target"] in labels for e in graph["edges"])
    together = {frozenset((labels[e["source"]], labels[e["target"]])) for e in graph["edges"]}
    assert frozenset(("Ana", "Lisbon")) in together
    assert 'data-graph-src="/ui/graph.json?user=ana"' in ui.get("/ui/graph").text


def test_another_tenants_entity_is_not_found(root: Memory, ui: InProcess) -> None:
    other = root.scoped(tenant="other")
    other.add("We spent a week in Zanzibar", user_id="ana")
    foreign = next(e for e in other.entities.list(user_id="ana").items if e.name == "Zanzibar")
    assert ui.get(f"/ui/entities/{foreign.id}").status_code == 404


def test_text_is_escaped_everywhere(root: Memory) -> None:
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    added = root.add(hostile, user_id="u", metadata={"k": "</pre><script>1</script>"})
    client = InProcess(create_app(root, auth="local"))
    for url in ("/ui/", "/ui/memories?user=u", f"/ui/memories/{added.memories[0].id}",
                "/ui/timeline?user=u", f"/ui/memories/{added.memories[0].id}/edit"):  # fmt: skip
        html = client.get(url).text
        assert "<script>alert" not in html, url
        assert "<img src=x" not in html, url
        assert "</pre><script>" not in html, url
    client.close()


def test_local_mode_needs_no_sign_in_but_only_answers_this_machine(
    root: Memory, ids: dict[str, str]
) -> None:
    app = create_app(root, auth="local")
    here = InProcess(app)
    assert "local mode" in here.get("/ui/").text
    assert here.get("/ui/login").status_code == 303
    here.close()
    away = InProcess(app, client=("198.51.100.4", 1234))
    page = away.get("/ui/")
    assert page.status_code == 403
    assert "only answers this machine" in page.text
    away.close()


def test_word_diff_and_field_changes() -> None:
    assert str(word_diff("a b c", "a x c")) == "a <del>b</del> <ins>x</ins> c"
    assert str(word_diff("<b>", "<i>")) == "<del>&lt;b&gt;</del> <ins>&lt;i&gt;</ins>"
    shown: list[dict[str, Any]] = changes(
        {"text": "a", "status": "active", "version": 1},
        {"text": "a", "status": "deleted", "version": 2},
    )
    assert shown == [{"field": "status", "old": "active", "new": "deleted"}]
