"""The core commands: add, search, get, list, delete, restore, history, erase, stats,
export, import."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from mnemos.cli import AppContext, emit_json, parse_json_option, pass_app

__all__ = ["register"]

_console = Console(highlight=False, soft_wrap=False)
if not _console.is_terminal:
    # Piped output has no width to measure; do not squeeze tables into 80 columns.
    _console.width = 200


def _when(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M")


def _short(text: str, width: int = 90) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def progress() -> Progress:
    """A progress bar on stderr (hidden when stderr is not a terminal)."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )


def _memory_table(records: list[Any], title: str | None = None) -> Table:
    table = Table(title=title, show_lines=False, expand=False)
    table.add_column("id", style="cyan", no_wrap=True)
    table.add_column("kind")
    table.add_column("status")
    table.add_column("when", no_wrap=True)
    table.add_column("text")
    for r in records:
        table.add_row(r.id, r.kind, r.status, _when(r.occurred_at), _short(r.text))
    return table


@click.command()
@click.argument("text", nargs=-1, required=True)
@click.option("--user", "user_id", required=True, help="User scope.")
@click.option("--agent", "agent_id", help="Agent scope.")
@click.option("--session", "session_id", help="Session scope.")
@click.option(
    "--role",
    default="user",
    show_default=True,
    type=click.Choice(["user", "assistant", "system", "tool"]),
    help="Who said it.",
)
@click.option("--name", help="Speaker name.")
@click.option("--at", help="When it happened (ISO 8601; default now).")
@click.option("--metadata", help="JSON object kept with the memory.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_app
def add(
    app: AppContext,
    text: tuple[str, ...],
    user_id: str,
    agent_id: str | None,
    session_id: str | None,
    role: str,
    name: str | None,
    at: str | None,
    metadata: str | None,
    as_json: bool,
) -> None:
    """Add a message and derive memories from it.

    \b
    Example:
      mnemos add --user ana --name Ana --at 2024-03-02 "I moved to Lisbon last month"
    """
    message = {"role": role, "content": " ".join(text)}
    if name:
        message["name"] = name
    result = app.memory().add(
        message,
        user_id=user_id,
        agent_id=agent_id,
        session_id=session_id,
        at=at,
        metadata=parse_json_option(metadata, "--metadata"),
    )
    if as_json:
        emit_json(result)
        return
    for change in result.changes:
        click.echo(f"{change.event} {change.memory_id}")


@click.command()
@click.argument("query")
@click.option("--user", "user_id", required=True, help="User scope.")
@click.option("--agent", "agent_id", help="Agent scope.")
@click.option("--session", "session_id", help="Session scope.")
@click.option("--limit", default=10, show_default=True, help="Most hits to return.")
@click.option("--at", help="Recall what was true at this time (ISO 8601).")
@click.option("--budget", "budget_tokens", type=int, help="Token budget for all hits together.")
@click.option("--filters", help='JSON filters, e.g. \'{"kind": "fact"}\'.')
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_app
def search(
    app: AppContext,
    query: str,
    user_id: str,
    agent_id: str | None,
    session_id: str | None,
    limit: int,
    at: str | None,
    budget_tokens: int | None,
    filters: str | None,
    as_json: bool,
) -> None:
    """Search memories (hybrid BM25 + vector recall) and show them with their evidence.

    \b
    Example:
      mnemos search --user ana "where does Ana live?" --limit 5
      mnemos search --user ana "job" --json
    """
    result = app.memory().search(
        query,
        user_id=user_id,
        agent_id=agent_id,
        session_id=session_id,
        limit=limit,
        at=at,
        budget_tokens=budget_tokens,
        filters=parse_json_option(filters, "--filters"),
    )
    if as_json:
        emit_json(result)
        return
    table = Table(title=f"{len(result.hits)} hits for {query!r} ({result.took_ms:.1f} ms)")
    table.add_column("#", justify="right")
    table.add_column("score", justify="right")
    table.add_column("when", no_wrap=True)
    table.add_column("memory")
    table.add_column("evidence")
    for rank, hit in enumerate(result.hits, start=1):
        evidence = "; ".join(
            f"{e.name or e.role} @ {_when(e.occurred_at)}" for e in hit.evidence[:3]
        )
        table.add_row(
            str(rank), f"{hit.score:.3f}", _when(hit.occurred_at), _short(hit.text), evidence
        )
    _console.print(table)


@click.command()
@click.argument("memory_id")
@click.option("--json", "as_json", is_flag=True, help="Print the memory as JSON.")
@pass_app
def get(app: AppContext, memory_id: str, as_json: bool) -> None:
    """Show one memory, whatever its status.

    \b
    Example:
      mnemos get 3f2a9c1e-0d4b-4c59-9a55-5a3d2c1b0e7f --json
    """
    record = app.memory().get(memory_id)
    if as_json:
        emit_json(record)
        return
    for field in (
        "id",
        "kind",
        "status",
        "version",
        "user_id",
        "agent_id",
        "session_id",
        "occurred_at",
        "valid_from",
        "valid_to",
        "created_at",
        "updated_at",
    ):
        click.echo(f"{field:>11}: {getattr(record, field)}")
    click.echo(f"{'episodes':>11}: {', '.join(record.episode_ids)}")
    click.echo(f"{'metadata':>11}: {record.metadata}")
    click.echo(f"{'text':>11}: {record.text}")


@click.command(name="list")
@click.option("--user", "user_id", help="User scope (default: every user in the tenant).")
@click.option("--agent", "agent_id", help="Agent scope.")
@click.option("--session", "session_id", help="Session scope.")
@click.option("--kind", help="Only this kind (fact, event, note, ...).")
@click.option("--status", help="Only this status (default: active).")
@click.option("--limit", default=50, show_default=True, help="Page size.")
@click.option("--offset", default=0, show_default=True, help="Where the page starts.")
@click.option("--json", "as_json", is_flag=True, help="Print the page as JSON.")
@pass_app
def list_(
    app: AppContext,
    user_id: str | None,
    agent_id: str | None,
    session_id: str | None,
    kind: str | None,
    status: str | None,
    limit: int,
    offset: int,
    as_json: bool,
) -> None:
    """List memories, newest first.

    \b
    Example:
      mnemos list --user ana --kind note --limit 20
    """
    filters: dict[str, Any] = {}
    if kind:
        filters["kind"] = kind
    if status:
        filters["status"] = status
    page = app.memory().get_all(
        user_id=user_id,
        agent_id=agent_id,
        session_id=session_id,
        filters=filters or None,
        limit=limit,
        offset=offset,
    )
    if as_json:
        emit_json(page)
        return
    _console.print(_memory_table(page.items, f"{page.total} memories (from {page.offset})"))
    if page.next_offset is not None:
        click.echo(f"more: --offset {page.next_offset}")


@click.command()
@click.argument("memory_id")
@click.option("--reason", help="Why, recorded in the history.")
@pass_app
def delete(app: AppContext, memory_id: str, reason: str | None) -> None:
    """Soft-delete a memory (recoverable with `mnemos restore`).

    \b
    Example:
      mnemos delete 3f2a9c1e-0d4b-4c59-9a55-5a3d2c1b0e7f --reason "wrong person"
    """
    record = app.memory().delete(memory_id, reason=reason)
    click.echo(
        f"deleted {record.id} (version {record.version}); undo with: mnemos restore {record.id}"
    )


@click.command()
@click.argument("memory_id")
@pass_app
def restore(app: AppContext, memory_id: str) -> None:
    """Restore a soft-deleted memory.

    \b
    Example:
      mnemos restore 3f2a9c1e-0d4b-4c59-9a55-5a3d2c1b0e7f
    """
    record = app.memory().restore(memory_id)
    click.echo(f"restored {record.id} as {record.status} (version {record.version})")


@click.command()
@click.argument("memory_id")
@click.option("--json", "as_json", is_flag=True, help="Print the events as JSON.")
@pass_app
def history(app: AppContext, memory_id: str, as_json: bool) -> None:
    """Show every change to a memory, oldest first.

    \b
    Example:
      mnemos history 3f2a9c1e-0d4b-4c59-9a55-5a3d2c1b0e7f
    """
    events = app.memory().history(memory_id)
    if as_json:
        emit_json(events)
        return
    table = Table(title=f"history of {memory_id}")
    for col in ("version", "event", "at", "reason", "text"):
        table.add_column(col)
    for e in events:
        text = (e.after or e.before or {}).get("text", "")
        table.add_row(str(e.version), e.event, _when(e.at), e.reason or "", _short(str(text), 60))
    _console.print(table)


@click.command()
@click.option("--user", "user_id", required=True, help="User scope to erase.")
@click.option("--agent", "agent_id", help="Only this agent's part of the scope.")
@click.option("--session", "session_id", help="Only this session.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_app
def erase(
    app: AppContext, user_id: str, agent_id: str | None, session_id: str | None, yes: bool
) -> None:
    """Permanently erase every trace of a scope (cannot be undone).

    \b
    Example:
      mnemos erase --user ana --yes
    """
    if not yes:
        click.confirm(f"Permanently erase everything stored for user {user_id!r}?", abort=True)
    counts = app.memory().erase(user_id=user_id, agent_id=agent_id, session_id=session_id)
    click.echo(
        f"erased {counts.episodes} episodes, {counts.memories} memories, "
        f"{counts.history} history events, {counts.vectors} vectors"
    )


@click.command()
@click.option("--user", "user_id", help="Only this user.")
@click.option("--json", "as_json", is_flag=True, help="Print the stats as JSON.")
@pass_app
def stats(app: AppContext, user_id: str | None, as_json: bool) -> None:
    """Show counts and sizes of the store.

    \b
    Example:
      mnemos stats --user ana
    """
    result = app.memory().stats(user_id=user_id)
    if as_json:
        emit_json(result)
        return
    for key, value in result.model_dump().items():
        click.echo(f"{key:>19}: {value}")


@click.command()
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--user", "user_id", help="Only this user (default: the whole tenant).")
@pass_app
def export(app: AppContext, path: str, user_id: str | None) -> None:
    """Export episodes, memories and history to a mnemos JSONL file.

    \b
    Example:
      mnemos export backup.jsonl --user ana
    """
    result = app.memory().export(path, user_id=user_id)
    click.echo(
        f"wrote {result.episodes} episodes, {result.memories} memories, "
        f"{result.history} history events to {result.path}"
    )


@click.command(name="import")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option(
    "--format",
    "fmt",
    default="auto",
    show_default=True,
    type=click.Choice(["auto", "mnemos", "chat", "text", "locomo"]),
    help="mnemos export, OpenAI-style chat JSON/JSONL, plain text, or LoCoMo's locomo10.json.",
)
@click.option("--user", "user_id", help="User scope (required for chat and text files).")
@click.option("--agent", "agent_id", help="Agent scope.")
@click.option("--session", "session_id", help="Session scope (chat and text files).")
@pass_app
def import_(
    app: AppContext,
    path: str,
    fmt: str,
    user_id: str | None,
    agent_id: str | None,
    session_id: str | None,
) -> None:
    """Import a mnemos export, a chat log, a text file or a LoCoMo dataset.

    \b
    Example:
      mnemos import backup.jsonl
      mnemos import chat.json --user ana
      mnemos import notes.txt --user ana
      mnemos import locomo10.json            # one user scope per conversation
    """
    from mnemos.io.importers import detect_format, plan_import

    chosen = detect_format(path) if fmt == "auto" else fmt
    mem = app.memory()
    if chosen == "mnemos":
        result = mem.import_(path)
        click.echo(
            f"imported {result.episodes} episodes, {result.memories} memories, "
            f"{result.history} history events"
        )
        return
    batches = plan_import(path, chosen, user_id=user_id, agent_id=agent_id, session_id=session_id)  # type: ignore[arg-type]
    episodes = memories = 0
    with progress() as bar:
        task = bar.add_task(f"importing {chosen}", total=sum(len(b.messages) for b in batches))
        for batch in batches:
            result = mem.add(
                batch.messages,
                user_id=batch.user_id,
                agent_id=batch.agent_id,
                session_id=batch.session_id,
                at=batch.at,
            )
            episodes += len(result.episodes)
            memories += len(result.memories)
            bar.advance(task, len(batch.messages))
    users = sorted({b.user_id for b in batches})
    click.echo(
        f"imported {episodes} messages as {memories} memories into "
        f"{len(users)} user scope(s): {', '.join(users[:10])}{' …' if len(users) > 10 else ''}"
    )


def register(group: click.Group) -> None:
    """Attach every core command to the CLI group."""
    for command in (
        add,
        search,
        get,
        list_,
        delete,
        restore,
        history,
        erase,
        stats,
        export,
        import_,
    ):
        group.add_command(command)
    from mnemos.cli import bench, demo

    group.add_command(demo.demo)
    group.add_command(bench.bench)
