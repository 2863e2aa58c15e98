"""The command line, through its entry point and as a real process."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest

from mnemos.cli import cli, main

COMMANDS = ["add", "search", "get", "list", "delete", "restore", "history", "erase", "stats",
            "export", "import", "demo", "keys", "serve", "mcp", "bench"]  # fmt: skip
BENCH_COMMANDS = ["locomo", "longmemeval", "speed", "truth", "timex", "compare"]


def run(capsys: pytest.CaptureFixture[str], store: Path, *args: str) -> tuple[int, str, str]:
    code = main(["--store", str(store), "--embedder", "hash", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_every_command_has_help_with_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    top = capsys.readouterr().out
    for name in COMMANDS:
        assert name in top
        assert main([name, "--help"]) == 0
        text = capsys.readouterr().out
        assert "Example:" in text, name
        assert f"mnemos {name}" in text, name
    assert sorted(cli.commands) == sorted(COMMANDS)
    bench = cli.commands["bench"]
    assert isinstance(bench, click.Group)
    assert sorted(bench.commands) == sorted(BENCH_COMMANDS)
    for name in BENCH_COMMANDS:
        assert main(["bench", name, "--help"]) == 0
        text = capsys.readouterr().out
        assert "Example:" in text, name
        assert f"mnemos bench {name}" in text, name


def test_add_search_get_history_delete_restore(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    store = tmp_path / "cli.db"
    code, out, _ = run(capsys, store, "add", "--user", "ana", "--name", "Ana", "--at", "2024-03-02",
                       "I", "moved", "to", "Lisbon")  # fmt: skip
    assert code == 0
    assert out.startswith("ADD ")
    code, out, _ = run(capsys, store, "search", "--user", "ana", "Lisbon", "--json")
    assert code == 0
    result = json.loads(out)
    hit = result["hits"][0]
    assert hit["text"] == "I moved to Lisbon"
    assert hit["evidence"][0]["name"] == "Ana"
    memory_id = hit["id"]
    code, out, _ = run(capsys, store, "search", "--user", "ana", "Lisbon")
    assert "I moved to Lisbon" in out
    code, out, _ = run(capsys, store, "get", memory_id)
    assert "I moved to Lisbon" in out
    assert run(capsys, store, "delete", memory_id, "--reason", "test")[0] == 0
    listed = json.loads(run(capsys, store, "list", "--user", "ana", "--json")[1])["items"]
    assert memory_id not in [m["id"] for m in listed]
    assert run(capsys, store, "restore", memory_id)[0] == 0
    code, out, _ = run(capsys, store, "history", memory_id, "--json")
    assert [e["event"] for e in json.loads(out)] == ["ADD", "DELETE", "RESTORE"]
    code, out, _ = run(capsys, store, "list", "--user", "ana")
    assert "I moved to Lisbon" in out
    code, out, _ = run(capsys, store, "stats", "--json")
    assert json.loads(out)["episodes"] == 1


def test_export_import_and_erase(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    run(capsys, a, "add", "--user", "u", "remember", "the", "milk")
    assert run(capsys, a, "export", str(tmp_path / "x.jsonl"))[0] == 0
    code, out, _ = run(capsys, b, "import", str(tmp_path / "x.jsonl"))
    assert code == 0
    assert "imported 1 episodes" in out
    code, out, _ = run(capsys, b, "erase", "--user", "u", "--yes")
    assert "erased 1 episodes" in out
    assert json.loads(run(capsys, b, "stats", "--json")[1])["episodes"] == 0


def test_import_chat_text_and_locomo(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    store = tmp_path / "imp.db"
    chat = tmp_path / "chat.json"
    chat.write_text(json.dumps([
        {"role": "user", "content": "I love hiking", "at": "2024-01-01"},
        {"role": "assistant", "content": "Where do you hike?"},
    ]))  # fmt: skip
    assert "imported 2 messages" in run(capsys, store, "import", str(chat), "--user", "u")[1]
    jsonl = tmp_path / "chat.jsonl"
    jsonl.write_text('{"role": "user", "content": "one"}\n{"role": "user", "content": "two"}\n')
    assert "imported 2 messages" in run(capsys, store, "import", str(jsonl), "--user", "u")[1]
    text = tmp_path / "notes.txt"
    text.write_text("First paragraph about bees.\n\nSecond paragraph about honey.\n")
    assert "imported 1 messages" in run(capsys, store, "import", str(text), "--user", "u")[1]
    locomo = Path(__file__).parent / "fixtures" / "locomo_mini.json"
    code, out, _ = run(capsys, store, "import", str(locomo))
    assert code == 0
    assert "conv-mini" in out
    hits = json.loads(
        run(
            capsys, store, "search", "--user", "conv-mini", "first pottery class finished", "--json"
        )[1]
    )["hits"]
    assert hits[0]["evidence"][0]["metadata"]["dia_id"] == "D1:3"
    assert hits[0]["evidence"][0]["occurred_at"].startswith("2023-05-08T13:56")


def test_errors_are_one_clean_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    store = tmp_path / "e.db"
    code, _, err = run(capsys, store, "get", "missing-id")
    assert code == 1
    assert err.strip() == "Error: no memory with id 'missing-id'"
    code, _, err = run(capsys, store, "search", "--user", "u", "x", "--filters", "{bad")
    assert code == 2
    assert "not valid JSON" in err
    code, _, err = run(capsys, store, "import", str(tmp_path / "chat.json"), "--user", "u")
    assert code == 1
    assert "is not a file" in err
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"junk" * 100)
    code, _, err = run(capsys, junk, "stats")
    assert code == 1
    assert "not a mnemos store" in err


@pytest.mark.skipif(shutil.which("mnemos") is None, reason="console script not installed")
def test_the_installed_command_never_prints_a_traceback(tmp_path: Path) -> None:
    mnemos = shutil.which("mnemos")
    assert mnemos is not None
    env_cmd = [mnemos, "--store", str(tmp_path / "p.db"), "--embedder", "hash"]
    ok = subprocess.run([*env_cmd, "add", "--user", "u", "hello"], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    for args in (["get", "nope"], ["add", "--user", "", "x"], ["search", "--user", "u", " "],
                 ["import", "/no/such/file"], ["list", "--limit", "0"]):  # fmt: skip
        proc = subprocess.run([*env_cmd, *args], capture_output=True, text=True)
        assert proc.returncode in (1, 2), args
        assert "Traceback" not in proc.stderr + proc.stdout, args
        assert proc.stderr.strip(), args


def test_python_dash_m_has_the_same_interface() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "mnemos", "--version"], capture_output=True, text=True
    )
    assert proc.returncode == 0
    assert proc.stdout.startswith("mnemos, version")


def test_click_group_is_the_documented_one() -> None:
    assert isinstance(cli, click.Group)
