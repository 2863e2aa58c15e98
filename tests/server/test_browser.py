"""The dashboard end to end in headless Chromium (Debian's ``chromium``, driven by Playwright).

A real uvicorn process serves a store built from the bundled sample conversation; the
browser signs in with an API key, browses, searches, reads a memory with its evidence and
history, edits and deletes with confirmation, restores, follows the timeline and opens the
entity graph. Screenshots go to ``artifacts/screenshots/``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from mnemos import Memory
from mnemos.cli.demo import load_sample
from tests.server.conftest import ARTIFACTS, LiveServer, free_port

CHROMIUM = os.environ.get("MNEMOS_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
]  # fmt: skip
SHOTS = ARTIFACTS / "screenshots"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, Path]]:
    folder = tmp_path_factory.mktemp("browser")
    store = folder / "dashboard.db"
    sample = load_sample()
    with Memory(store, embedder="hash") as memory:
        for session in sample["sessions"]:
            memory.add(
                session["messages"], user_id="ana", session_id=session["id"], at=session["at"]
            )
        memory.add("Bob keeps his own notes here, about his trip to Oslo", user_id="bob")
        token = memory.keys.create(user_ids=["ana"], name="ana's dashboard").token
    port = free_port()
    server = LiveServer(
        [],
        port=port,
        log=folder / "uvicorn.log",
        command=[sys.executable, "-m", "uvicorn", "tests.server.dashboard_app:build",
                 "--factory", "--port", str(port), "--log-level", "warning"],
        cwd=REPO,
        env={"MNEMOS_PATH": str(store)},
    )  # fmt: skip
    yield server.url, token, store
    server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert shutil.which(CHROMIUM) or Path(CHROMIUM).exists(), f"{CHROMIUM} is not installed"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    # A 4xx answer is part of some flows (a wrong key); a script error never is.
    tab.on(
        "console",
        lambda msg: (
            errors.append(msg.text)
            if msg.type == "error" and not msg.text.startswith("Failed to load resource")
            else None
        ),
    )
    yield tab
    context.close()
    assert errors == [], errors


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def sign_in(page: Page, url: str, token: str) -> None:
    page.goto(url + "/ui/")
    expect(page).to_have_url(f"{url}/ui/login?next=%2Fui%2F")
    page.fill("input[name=key]", token)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Overview")


def test_sign_in_and_overview(page: Page, site: tuple[str, str, Path]) -> None:
    url, token, _ = site
    page.goto(url + "/ui/memories")
    expect(page.locator("h1")).to_have_text("Sign in")
    page.fill("input[name=key]", "mnemos_not_a_key")
    page.click("button[type=submit]")
    expect(page.locator(".error")).to_contain_text("unknown or revoked")
    shot(page, "01-sign-in")
    sign_in(page, url, token)
    expect(page.locator(".stat").first).to_contain_text("memories")
    expect(page.locator("body")).not_to_contain_text("Bob keeps")
    shot(page, "02-overview")


def test_browse_search_and_read_a_memory(page: Page, site: tuple[str, str, Path]) -> None:
    url, token, _ = site
    sign_in(page, url, token)
    page.click("nav >> text=Memories")
    rows = page.locator("[data-testid=memory-table] tbody tr")
    expect(rows.first).to_be_visible()
    assert rows.count() >= 10
    page.fill("input[name=from]", "2024-05-01")
    page.click("button:has-text('Apply')")
    for when in page.locator("[data-testid=memory-table] tbody td.nowrap").all_inner_texts():
        assert when >= "2024-05-01", when
    shot(page, "03-memories-filtered")

    page.goto(url + "/ui/memories")
    page.keyboard.press("/")  # the search box takes the keyboard
    page.keyboard.type("half marathon Porto")
    page.keyboard.press("Enter")
    hits = page.locator("[data-testid=hit-table] tbody tr")
    expect(hits.first).to_contain_text("marathon")
    shot(page, "04-search")
    hits.first.locator("td:nth-child(5) a").click()
    expect(page.locator("[data-testid=memory-text]")).to_contain_text("marathon")
    expect(page.locator("[data-testid=evidence] > li")).to_have_count(1)
    expect(page.locator("[data-testid=history] > li")).to_have_count(1)
    expect(page.locator("dl.facts")).to_contain_text("still true")
    shot(page, "05-memory")


def test_edit_delete_and_restore_with_confirmation(page: Page, site: tuple[str, str, Path]) -> None:
    url, token, store = site
    sign_in(page, url, token)
    page.goto(url + "/ui/memories?q=cat&user=ana")
    page.locator("[data-testid=hit-table] tbody tr").first.locator("td:nth-child(5) a").click()
    memory_id = page.locator("[data-testid=memory-id]").inner_text()
    before = page.locator("[data-testid=memory-text]").inner_text()

    page.click("text=Edit")
    page.fill("textarea[name=text]", before + " (checked with Ana)")
    page.fill("input[name=reason]", "confirmed in person")
    page.click("text=Review the change")
    expect(page.locator("[data-testid=confirm]")).to_be_visible()
    expect(page.locator("[data-testid=text-diff] ins")).to_contain_text("(checked with Ana)")
    shot(page, "06-edit-confirm")
    with Memory(store, embedder="hash") as memory:
        assert memory.get(memory_id).version == 1  # not yet
    page.click("text=Save version 2")
    expect(page.locator(".flash")).to_contain_text("Saved a new version")
    expect(page.locator("[data-testid=history] > li")).to_have_count(2)
    expect(page.locator("[data-testid=history]")).to_contain_text("confirmed in person")
    shot(page, "07-memory-edited")

    page.click("text=Delete…")
    expect(page.locator("h1")).to_have_text("Delete this memory?")
    shot(page, "08-delete-confirm")
    page.click("text=Keep it")
    expect(page.locator("[data-testid=memory-text]")).to_be_visible()
    page.click("text=Delete…")
    page.fill("input[name=reason]", "testing the dashboard")
    page.click("button:has-text('Delete')")
    expect(page.locator(".flash")).to_contain_text("Deleted")
    expect(page.locator(".badge.status.deleted").first).to_be_visible()
    shot(page, "09-deleted")
    page.click("button:has-text('Restore')")
    expect(page.locator(".flash")).to_contain_text("Restored")
    with Memory(store, embedder="hash") as memory:
        record = memory.get(memory_id)
        assert (record.status, record.version) == ("active", 4)
        assert record.text.endswith("(checked with Ana)")
        assert [e.event for e in memory.history(memory_id)] == [
            "ADD",
            "UPDATE",
            "DELETE",
            "RESTORE",
        ]


def test_timeline(page: Page, site: tuple[str, str, Path]) -> None:
    url, token, _ = site
    sign_in(page, url, token)
    page.click("nav >> text=Timeline")
    days = page.locator(".timeline .day h2")
    expect(days.first).to_contain_text("2024")
    assert days.count() >= 6
    expect(page.locator(".derived").first).to_be_visible()
    shot(page, "10-timeline")
    page.locator(".badge.session").first.click()
    expect(page.locator("p.muted").first).to_contain_text("in session s1")


def test_entities_and_their_graph(page: Page, site: tuple[str, str, Path]) -> None:
    url, token, _ = site
    sign_in(page, url, token)
    page.click("nav >> text=Entity graph")
    graph = page.locator("[data-testid=graph]")
    expect(graph).to_have_attribute("data-ready", "true")
    assert graph.locator("g.node").count() >= 20
    assert graph.locator("line").count() >= 20
    lisbon = graph.locator("g.node").filter(
        has=page.locator("text", has_text=re.compile("^Lisbon$"))
    )
    lisbon.click()
    panel = graph.locator(".graph-panel")
    expect(panel).to_be_visible()
    expect(panel.locator("h3")).to_have_text("Lisbon")
    expect(panel).to_contain_text("place")
    assert panel.locator("li").count() >= 1
    shot(page, "11-entity-graph")
    panel.locator("h3 a").click()
    expect(page.locator("[data-testid=entity-name]")).to_have_text("Lisbon")
    rows = page.locator("[data-testid=entity-history] tbody tr")
    expect(rows.first).to_contain_text("Lisbon")
    shot(page, "12-entity")
    page.click("nav >> text=Entities")
    expect(page.locator("[data-testid=entity-table] tbody tr").first).to_be_visible()
    expect(page.locator("body")).not_to_contain_text("Oslo")
    shot(page, "13-entities")


def test_the_browser_is_the_system_chromium() -> None:
    out = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True, check=True)
    assert "Chromium" in out.stdout
