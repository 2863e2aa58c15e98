"""``mnemos demo``: build a store from the bundled sample conversation and recall from it."""

from __future__ import annotations

import json
import time
from importlib import resources
from typing import Any

import click
from rich.console import Console
from rich.panel import Panel

from mnemos.cli import AppContext, pass_app

__all__ = ["demo", "load_sample"]


def load_sample() -> dict[str, Any]:
    """The bundled sample conversation (six sessions between Ana and her assistant)."""
    text = resources.files("mnemos").joinpath("data/sample_conversation.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


@click.command()
@click.option(
    "--store", "path", default="mnemos-demo.db", show_default=True,
    help="Store file to build (rebuilt from scratch for the sample user).",
)  # fmt: skip
@click.option("--limit", default=3, show_default=True, help="Hits shown per question.")
@click.option("-q", "--question", "questions", multiple=True, help="Ask this instead (repeatable).")
@pass_app
def demo(app: AppContext, path: str, limit: int, questions: tuple[str, ...]) -> None:
    """Build a store from a sample conversation and show what mnemos recalls.

    Ingests six dated sessions between a user (Ana) and her assistant through the public
    API, then asks a few questions and prints the recalled memories with their evidence.

    \b
    Example:
      mnemos demo
      mnemos demo -q "What is Ana training for?"
    """
    from mnemos.memory import Memory

    sample = load_sample()
    user = sample["user_id"]
    console = Console(highlight=False)
    started = time.perf_counter()
    with Memory(app.store or path, embedder=app.embedder, tenant=app.tenant) as mem:
        mem.erase(user_id=user)
        turns = 0
        for session in sample["sessions"]:
            mem.add(session["messages"], user_id=user, session_id=session["id"], at=session["at"])
            turns += len(session["messages"])
        built = time.perf_counter() - started
        stats = mem.stats(user_id=user)
        console.print(
            f"[bold]Built[/bold] {stats.path}: {turns} messages in {len(sample['sessions'])} "
            f"sessions -> {stats.memories} memories ({built:.1f} s, model load included)\n"
        )
        for question in questions or sample["questions"]:
            result = mem.search(question, user_id=user, limit=limit)
            lines = []
            for rank, hit in enumerate(result.hits, start=1):
                when = hit.occurred_at.strftime("%d %b %Y") if hit.occurred_at else "?"
                lines.append(f"[bold]{rank}.[/bold] ({hit.score:.2f}, {when}) {hit.text}")
                for ev in hit.evidence:
                    if ev.text != hit.text:
                        lines.append(f"     [dim]evidence: {ev.name or ev.role}: {ev.text}[/dim]")
                    else:
                        lines.append(
                            f"     [dim]said by {ev.name or ev.role} in session {ev.session_id}, "
                            f"{ev.occurred_at:%d %b %Y %H:%M} (episode …{ev.episode_id[-8:]})[/dim]"
                        )
            console.print(
                Panel(
                    "\n".join(lines) or "(nothing recalled)",
                    title=f"[bold]{question}[/bold]",
                    subtitle=f"{result.took_ms:.1f} ms",
                    title_align="left",
                )
            )
