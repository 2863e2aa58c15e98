"""``mnemos bench``: recall on LoCoMo and LongMemEval, and speed, with same-run baselines."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from mnemos.cli import AppContext, pass_app
from mnemos.cli.commands import progress

__all__ = ["bench"]

_console = Console(highlight=False, soft_wrap=False)
if not _console.is_terminal:
    _console.width = 200


def _ints(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[int, ...] | None:
    """Parse a comma-separated list of positive integers (``5,10,20``; ``1_000`` allowed)."""
    if value is None:
        return None
    try:
        numbers = tuple(int(part.strip()) for part in value.split(",") if part.strip())
    except ValueError:
        raise click.BadParameter("expected comma-separated integers, e.g. 5,10,20") from None
    if not numbers or min(numbers) < 1:
        raise click.BadParameter("expected positive integers, e.g. 5,10,20")
    return numbers


def _names(ctx: click.Context, param: click.Parameter, value: str) -> tuple[str, ...]:
    from mnemos.bench.baselines import BASELINES

    if value.strip().lower() == "none":
        return ()
    names = tuple(dict.fromkeys(p.strip() for p in value.split(",") if p.strip()))
    unknown = [n for n in names if n not in BASELINES]
    if unknown:
        raise click.BadParameter(
            f"unknown baseline(s) {', '.join(unknown)}; choose from {', '.join(BASELINES)} or none"
        )
    return names


def _embedder(app: AppContext, chosen: str | None) -> str:
    return chosen or app.embedder or "minilm-static"


@click.group()
def bench() -> None:
    """Measure recall and speed against same-run baselines.

    mnemos is measured only through its public API (Memory.add and Memory.search), in a
    fresh temporary store each run. Needs the bench extra: pip install 'mnemos[bench]'.

    \b
    Example:
      mnemos bench locomo --data ../shared/data/locomo/locomo10.json --split dev
      mnemos bench speed --sizes 1000,10000
    """


@bench.command()
@click.option(
    "--data", required=True, type=click.Path(exists=True, dir_okay=False),
    help="LoCoMo's locomo10.json.",
)  # fmt: skip
@click.option(
    "--split", default="dev", show_default=True, type=click.Choice(["dev", "test", "all"]),
    help="dev: conv-26/30/41/42/43; test: conv-44/47/48/49/50; all: every conversation.",
)  # fmt: skip
@click.option("--k", "ks", default="5,10,20", show_default=True, callback=_ints,
              help="Cut-offs for evidence recall.")  # fmt: skip
@click.option("--budget", default=1000, show_default=True, type=click.IntRange(1),
              help="Token budget for budget recall.")  # fmt: skip
@click.option("--embedder", help="Registered embedder for mnemos (default: minilm-static).")
@click.option(
    "--baselines", default="bm25,bm25+prev,dense,rrf", show_default=True, callback=_names,
    help="Baselines to run beside mnemos (comma-separated, or none).",
)  # fmt: skip
@click.option(
    "--wait/--no-wait", default=True, show_default=True,
    help="Add each turn waiting for its memories, or queued (add(wait=False)).",
)  # fmt: skip
@click.option("--misses", is_flag=True,
              help="List the evidence turns mnemos did not return within 10 hits.")  # fmt: skip
@click.option("--json", "json_out", type=click.Path(dir_okay=False), help="Write every result.")
@click.option("--plot", "plot_out", type=click.Path(dir_okay=False), help="Write a PNG chart.")
@pass_app
def locomo(
    app: AppContext,
    data: str,
    split: str,
    ks: tuple[int, ...],
    budget: int,
    embedder: str | None,
    baselines: tuple[str, ...],
    wait: bool,
    misses: bool,
    json_out: str | None,
    plot_out: str | None,
) -> None:
    """Evidence recall on LoCoMo, mnemos against BM25, dense and fused baselines.

    Each conversation is added turn by turn into its own scope (speaker, session date,
    image captions; nothing else), then every question is asked by its text alone one
    day after the last session. Reports recall@k, all-evidence hit rate, NDCG@10, recall
    within a token budget, tokens returned and latency per category. With --misses, the
    evidence turns of categories 1-4 that mnemos did not return within 10 hits, with
    what was said and where it ranked.

    \b
    Example:
      mnemos bench locomo --data ../shared/data/locomo/locomo10.json --split dev \\
          --json artifacts/locomo-dev.json --plot artifacts/locomo-dev.png
    """
    from mnemos.bench.locomo import LocomoOptions, locomo_misses, run_locomo, select_split
    from mnemos.bench.report import (
        locomo_plot,
        locomo_summary,
        locomo_table,
        misses_table,
        write_json,
    )
    from mnemos.io.locomo import load_locomo

    options = LocomoOptions(
        split=split,
        ks=ks,
        budget=budget,
        embedder=_embedder(app, embedder),
        baselines=baselines,
        wait=wait,
    )
    with progress() as bar:
        report = run_locomo(data, options, progress=bar)
    _console.print(locomo_table(report))
    _console.print(locomo_summary(report))
    if misses:
        conversations = select_split(load_locomo(data), split)
        _console.print(misses_table(locomo_misses(report, conversations), 10, options.limit))
    _outputs(report, json_out, write_json)
    if plot_out:
        click.echo(f"wrote chart to {locomo_plot(report, plot_out)}")


@bench.command()
@click.option("--data", required=True, type=click.Path(exists=True, dir_okay=False),
              help="A LongMemEval JSON file (e.g. longmemeval_s.json).")  # fmt: skip
@click.option("--k", "ks", default="5,10,20", show_default=True, callback=_ints,
              help="Cut-offs for recall.")  # fmt: skip
@click.option("--embedder", help="Registered embedder for mnemos (default: minilm-static).")
@click.option("--limit", type=click.IntRange(1), help="Only the first N instances.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False), help="Write every result.")
@pass_app
def longmemeval(
    app: AppContext,
    data: str,
    ks: tuple[int, ...],
    embedder: str | None,
    limit: int | None,
    json_out: str | None,
) -> None:
    """Session- and turn-level retrieval recall on LongMemEval.

    Each instance's haystack goes into its own scope, session by session with its date;
    the question is asked at its question date.

    \b
    Example:
      mnemos bench longmemeval --data longmemeval_s.json --k 5,10 --json lme.json
    """
    from mnemos.bench.longmemeval import LongMemEvalOptions, run_longmemeval
    from mnemos.bench.report import longmemeval_table, machine_note, write_json

    options = LongMemEvalOptions(ks=ks, embedder=_embedder(app, embedder), limit=limit)
    with progress() as bar:
        report = run_longmemeval(data, options, progress=bar)
    _console.print(longmemeval_table(report))
    ing, lat = report["ingestion"], report["latency_ms"]
    _console.print(
        f"{report['counts']['instances']} instances, {ing['turns']:,} turns ingested at "
        f"{ing['turns_per_s'] or 0:,.1f} turns/s; search p50 {lat['p50'] or 0:.1f} ms, "
        f"p95 {lat['p95'] or 0:.1f} ms. {machine_note(report)}".rstrip()
    )
    _outputs(report, json_out, write_json)


@bench.command()
@click.option("--turns", default=2000, show_default=True, type=click.IntRange(1),
              help="Turns added one by one for the ingestion rate.")  # fmt: skip
@click.option("--sizes", default="1000,10000,100000", show_default=True, callback=_ints,
              help="Store sizes (memories in one scope) at which to measure search.")  # fmt: skip
@click.option("--max-size", type=click.IntRange(1), help="Skip sizes above this.")
@click.option("--queries", default=200, show_default=True, type=click.IntRange(1),
              help="Questions asked at each size.")  # fmt: skip
@click.option(
    "--embedder", help="Embedder for ingestion and query encode (default: minilm-static)."
)
@click.option(
    "--scale-embedder", type=click.Choice(["same", "hash"]), default="same", show_default=True,
    help="Grow the scale store with the same embedder, or a 384-d hash embedder (for slow models).",
)  # fmt: skip
@click.option("--batch", default=1000, show_default=True, type=click.IntRange(1),
              help="Messages per add call while growing the store.")  # fmt: skip
@click.option("--encode-baseline/--no-encode-baseline", default=True, show_default=True,
              help="Time raw sentence-transformers encoding of the same texts.")  # fmt: skip
@click.option("--seed", default=0, show_default=True, help="Seed of the synthetic chat.")
@click.option("--rounds", default=3, show_default=True, type=click.IntRange(1),
              help="Rounds of the ingestion part, reported as medians.")  # fmt: skip
@click.option("--json", "json_out", type=click.Path(dir_okay=False), help="Write every result.")
@pass_app
def speed(
    app: AppContext,
    turns: int,
    sizes: tuple[int, ...],
    max_size: int | None,
    queries: int,
    embedder: str | None,
    scale_embedder: str,
    batch: int,
    encode_baseline: bool,
    seed: int,
    rounds: int,
    json_out: str | None,
) -> None:
    """Ingestion throughput, and search latency, disk and memory as one scope grows.

    Ingestion adds synthetic turns with the chosen embedder (default: the default
    embedder) into a fresh store, one turn per call, then again one session per call, then
    one turn per call with wait=False (timed until all are derived), and times the raw
    encoder on the same texts (in batches of 64, and one text per
    call on the first 400), for --rounds rounds (medians reported). The
    scale part grows one store and one user scope (the worst case) to each size in
    memories, with the same embedder, or with a 384-dimensional hash embedder
    (--scale-embedder hash) for a model too slow to grow a large store; query encode
    latency is measured apart. Baselines: raw sentence-transformers MiniLM encoding and a
    flat numpy scan.

    \b
    Example:
      mnemos bench speed --sizes 1000,10000,100000 --json artifacts/speed.json
      mnemos bench speed --sizes 1000,10000,100000,1000000 --max-size 100000
    """
    from mnemos.bench.report import machine_note, speed_tables, write_json
    from mnemos.bench.speed import SpeedOptions, run_speed

    chosen = tuple(s for s in sizes if max_size is None or s <= max_size)
    if not chosen:
        raise click.BadParameter(f"every size is above --max-size {max_size}", param_hint="--sizes")
    options = SpeedOptions(
        turns=turns,
        sizes=chosen,
        queries=queries,
        embedder=_embedder(app, embedder),
        scale_embedder=scale_embedder,
        batch=batch,
        encode_baseline=encode_baseline,
        seed=seed,
        rounds=rounds,
    )
    with progress() as bar:
        report = run_speed(options, progress=bar)
    for table in speed_tables(report):
        _console.print(table)
    note = machine_note(report)
    if note:
        _console.print(note)
    _outputs(report, json_out, write_json)


@bench.command()
@click.option(
    "--split", default="all", show_default=True, type=click.Choice(["dev", "test", "all"]),
    help="dev: conversations looked at while the rules were written; test: held out.",
)  # fmt: skip
@click.option("--embedder", help="Registered embedder (default: minilm-static).")
@click.option("--json", "json_out", type=click.Path(dir_okay=False), help="Write every result.")
@click.option("--errors", is_flag=True, help="List every miss.")
@pass_app
def truth(
    app: AppContext, split: str, embedder: str | None, json_out: str | None, errors: bool
) -> None:
    """Do memories stay true? Updates, corrections, negations, duplicates.

    Runs the bundled corpus of multi-session conversations (each session annotated with
    the claims it asserts and the expected state after it) and reports extraction
    precision and recall, update accuracy, stale facts returned as current, answers
    found, and the duplicate rate, per split.

    \b
    Example:
      mnemos bench truth --split test --errors
    """
    import json as jsonlib

    from rich.table import Table

    from mnemos.bench.truth import run_truth

    splits = ["dev", "test"] if split == "all" else [split]
    results = {s: run_truth(split=s, embedder=_embedder(app, embedder)) for s in splits}
    table = Table(title="Knowledge operations (mnemos truth corpus)")
    table.add_column("metric")
    for s in splits:
        table.add_column(f"{s} ({results[s].conversations} conversations)", justify="right")
    for metric in results[splits[0]].metrics():
        table.add_row(metric, *(f"{results[s].metrics()[metric]:g}" for s in splits))
    _console.print(table)
    if errors:
        for s in splits:
            for line in results[s].errors:
                click.echo(f"[{s}] {line}")
    if json_out:
        Path(json_out).write_text(
            jsonlib.dumps({s: r.to_dict() for s, r in results.items()}, indent=2)
        )
        click.echo(f"wrote results to {json_out}")


@bench.command()
@click.option(
    "--data", required=True, type=click.Path(exists=True, dir_okay=False),
    help="LoCoMo's locomo10.json.",
)  # fmt: skip
@click.option("--misses", is_flag=True, help="List every question not resolved.")
def timex(data: str, misses: bool) -> None:
    """Date-resolution accuracy on LoCoMo's temporal questions (annotated answers as gold).

    \b
    Example:
      mnemos bench timex --data ../shared/data/locomo/locomo10.json
    """
    from mnemos.bench.timex import run_timex

    report = run_timex(data)
    click.echo(
        f"resolved {report.resolved} of {report.items} temporal questions whose answer names "
        f"a date: accuracy {report.accuracy:.3f} ({report.with_expression} turns hold a time "
        f"expression; {report.no_gold_date} answers name no date and are left out)"
    )
    if misses:
        for line in report.misses:
            click.echo(f"  {line}")


@bench.command()
@click.argument("base", type=click.Path(exists=True, dir_okay=False))
@click.argument("new", required=False, type=click.Path(exists=True, dir_okay=False))
@click.option("--system", default="mnemos", show_default=True,
              help="The system read from BASE.")  # fmt: skip
@click.option("--against", help="The system read from NEW, or from BASE when NEW is left out "
              "(default: the same as --system).")  # fmt: skip
@click.option("--metric", "metrics", default="R@10,R@1000tok", show_default=True,
              help="Per-question scores to compare (comma-separated).")  # fmt: skip
@click.option("--resamples", default=10_000, show_default=True, type=click.IntRange(100),
              help="Bootstrap and permutation resamples.")  # fmt: skip
@click.option("--seed", default=0, show_default=True, help="Seed of the resampling.")
@click.option("--margin", type=float,
              help="Largest loss that still counts as no worse (e.g. 0.01): adds a "
              "non-inferiority verdict to each row.")  # fmt: skip
@click.option("--changes", is_flag=True,
              help="List the questions whose first metric went up or down.")  # fmt: skip
@click.option("--json", "json_out", type=click.Path(dir_okay=False), help="Write every result.")
def compare(
    base: str,
    new: str | None,
    system: str,
    against: str | None,
    metrics: str,
    resamples: int,
    seed: int,
    margin: float | None,
    changes: bool,
    json_out: str | None,
) -> None:
    """Two LoCoMo results compared question by question: is a difference real?

    BASE and NEW are files written by mnemos bench locomo --json over the same questions
    (two embedders, two versions, two settings); with BASE alone, --against names another
    system of the same run (a baseline, say). For each category and metric: both means,
    the difference, its paired bootstrap interval, a paired permutation test, and how many
    questions went up or down. With --margin, whether NEW is shown no worse than BASE by
    at most that much (non-inferiority: the whole interval above minus the margin). With
    --changes, the questions whose first metric changed, largest falls first.

    \b
    Example:
      mnemos bench compare artifacts/minilm.json artifacts/static.json --margin 0.01
      mnemos bench compare artifacts/locomo-test.json --against bm25+prev
    """
    from mnemos.bench.compare import compare_reports, load_report
    from mnemos.bench.report import changes_table, compare_table, write_json

    names = tuple(dict.fromkeys(p.strip() for p in metrics.split(",") if p.strip()))
    # Files are named by their file name, or by their whole path where the names are alike.
    sides = (Path(base).name, Path(new).name if new else Path(base).name)
    if new and sides[0] == sides[1] and Path(base).resolve() != Path(new).resolve():
        sides = (base, new)
    result = compare_reports(
        load_report(base),
        load_report(new) if new else None,
        system=system,
        against=against,
        metrics=names,
        resamples=resamples,
        seed=seed,
        names=sides,
        margin=margin,
    )
    _console.print(compare_table(result))
    if changes:
        _console.print(changes_table(result))
    _outputs(result, json_out, write_json)


def _outputs(report: dict[str, Any], json_out: str | None, write: Callable[..., Path]) -> None:
    if json_out:
        click.echo(f"wrote results to {write(json_out, report)}")
