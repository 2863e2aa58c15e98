"""Tables, charts and JSON files from what the benchmarks return.

Every function here takes the plain dictionary a ``run_*`` function returned, so a saved
JSON file can be rendered again later.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from rich.table import Table

from mnemos.bench import require

__all__ = [
    "compare_table",
    "locomo_plot",
    "locomo_summary",
    "locomo_table",
    "longmemeval_table",
    "machine_note",
    "speed_tables",
    "write_json",
]

_LABELS = ["multi-hop", "temporal", "open-domain", "single-hop", "overall", "adversarial"]


def write_json(path: str | os.PathLike[str], report: dict[str, Any]) -> Path:
    """Write a report as JSON: summaries indented, per-question records one per line."""
    out = Path(path)
    body = {k: v for k, v in report.items() if k != "questions"}
    text = json.dumps(body, indent=2, ensure_ascii=False)
    if "questions" in report:
        lines = ",\n".join("    " + json.dumps(q, ensure_ascii=False) for q in report["questions"])
        text = f'{text[:-2]},\n  "questions": [\n{lines}\n  ]\n}}'
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n", encoding="utf-8")
    return out


def _fmt(name: str, value: Any) -> str:
    if value is None:
        return "—"
    if name.startswith("tokens") or name == "n":
        return f"{value:,.0f}"
    if name.endswith("ms"):
        return f"{value:.1f}"
    if name.startswith("turns/hit"):
        return f"{value:.2f}"
    return f"{value:.3f}"


def _delta(name: str, entry: dict[str, Any] | None) -> str:
    if not entry:
        return ""
    value = entry["delta"]
    if name.startswith("tokens"):
        number = f"{value:+,.0f}"
    elif name.endswith("ms"):
        number = f"{value:+.1f}"
    else:
        number = f"{value:+.3f}"
    return f"{number} ({entry['best_baseline']})"


def locomo_table(report: dict[str, Any]) -> Table:
    """mnemos and every baseline side by side, per category and metric, with the gap."""
    config = report["config"]
    systems = report["systems"]
    names = list(systems)
    deltas = report.get("delta_vs_best_baseline", {})
    counts = report["counts"]
    table = Table(
        title=(
            f"LoCoMo evidence recall, {config['split']} split "
            f"({', '.join(config['conversations'])}); mnemos embedder {config['embedder_id']}"
        ),
        caption=(
            f"Questions asked by text alone, one day after each conversation's last session; "
            f"{counts['turns']:,} turns in {counts['conversations']} conversations. "
            f"R@{config['budget_tokens']}tok: evidence turns whose text ends within the first "
            f"{config['budget_tokens']:,} tokens of what is returned. "
            "Δ: mnemos minus the best baseline (lowest for tokens and latency). "
            "Each system answers a conversation's questions in a pass of its own. "
            + (
                f"Latency: each question is searched for 10 results, then for the "
                f"{config['search_limit']} that are scored."
                if config["search_limit"] != 10
                else ""
            )
        ),
    )
    table.add_column("category", no_wrap=True)
    table.add_column("metric", no_wrap=True)
    for name in names:
        table.add_column(name, justify="right", style="bold" if name == "mnemos" else None)
    table.add_column("Δ vs best baseline", justify="right", no_wrap=True)
    first_system = systems[names[0]]["categories"]
    for label in _LABELS:
        block = first_system.get(label)
        if block is None:
            continue
        metrics = [k for k in block if k != "n"]
        for i, metric in enumerate(metrics):
            head = f"{label} (n={block['n']})" if i == 0 else ""
            cells = [_fmt(metric, systems[s]["categories"][label].get(metric)) for s in names]
            table.add_row(head, metric, *cells, _delta(metric, deltas.get(label, {}).get(metric)))
        table.add_section()
    limit = config["search_limit"]
    rows = [("latency_10_ms", "@10", "10 results"), ("latency_ms", "", f"{limit} results")]
    first = True
    for key, suffix, label in rows:
        if key not in systems[names[0]]:
            continue
        for q in ("p50", "p95"):
            head = "search latency" if first else ""
            first = False
            cells = [_fmt("ms", systems[s][key][q]) for s in names]
            name = f"{q}{suffix} ms"
            delta = _delta(name, deltas.get("latency", {}).get(name))
            table.add_row(head, f"{q} ms, {label}", *cells, delta)
    return table


def locomo_summary(report: dict[str, Any]) -> str:
    """One paragraph: ingestion throughput, indexing of the baselines, and what was skipped."""
    ing = report["ingestion"]
    parts = [
        f"mnemos ingestion: {ing['turns']:,} turns added one by one"
        f"{'' if ing.get('wait', True) else ' with wait=False'} in {ing['seconds']:.1f} s "
        f"= {ing['turns_per_s'] or 0:,.1f} turns/s end to end "
        f"(embedding {100 * (ing['embed_share'] or 0):.0f}% of it; warm-up of the model "
        f"and word tables {ing['model_warmup_seconds']:.1f} s not counted)."
    ]
    indexing = report.get("indexing", {})
    if indexing:
        parts.append(
            "Baseline indexing: "
            + ", ".join(
                f"{name} {v['turns_per_s'] or 0:,.0f} turns/s" for name, v in indexing.items()
            )
            + "."
        )
    skipped = report["counts"].get("skipped_no_evidence") or {}
    if skipped:
        parts.append(
            "Skipped (no evidence turn in the conversation): "
            + ", ".join(f"{k} {v}" for k, v in skipped.items())
            + "."
        )
    parts.append(f"Total {report['timings']['total_seconds']:.0f} s.")
    note = machine_note(report)
    if note:
        parts.append(note)
    return " ".join(parts)


def machine_note(report: dict[str, Any]) -> str:
    """A warning when other processes took a fair share of the CPUs during the run."""
    cpu = (report.get("machine") or {}).get("cpu")
    if not cpu or cpu["other_share"] < 0.1:
        return ""
    return (
        f"Note: other processes used {100 * cpu['other_share']:.0f}% of this machine's CPU "
        f"capacity during the run ({cpu['other_cpu_seconds']:.0f} CPU s in "
        f"{cpu['wall_seconds']:.0f} s), so timings may be pessimistic."
    )


def locomo_plot(report: dict[str, Any], path: str | os.PathLike[str]) -> Path:
    """Grouped bars of R@10 and budget recall per category, one bar per system (PNG).

    Raises:
        MissingDependencyError: matplotlib is not installed (the ``bench`` extra).
    """
    require("matplotlib", "--plot")
    from matplotlib.figure import Figure

    systems = report["systems"]
    names = list(systems)
    budget = report["config"]["budget_tokens"]
    labels = ["multi-hop", "temporal", "open-domain", "single-hop", "overall"]
    panels = [("R@10", "Evidence recall@10"), (f"R@{budget}tok", f"Recall within {budget} tokens")]
    fig = Figure(figsize=(13, 4.8), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    width = 0.8 / max(1, len(names))
    for ax, (metric, title) in zip(axes, panels, strict=True):
        for i, name in enumerate(names):
            values = [systems[name]["categories"][c].get(metric) or 0.0 for c in labels]
            xs = [x + (i - (len(names) - 1) / 2) * width for x in range(len(labels))]
            ax.bar(xs, values, width, label=name)
        counts = systems[names[0]]["categories"]
        ax.set_xticks(range(len(labels)), [f"{c}\n(n={counts[c]['n']})" for c in labels])
        ax.set_ylim(0, 1)
        ax.set_title(title)
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_ylabel("share of evidence turns")
    axes[0].legend(loc="upper left", fontsize="small")
    fig.suptitle(f"LoCoMo, {report['config']['split']} split")
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    return out


def compare_table(result: dict[str, Any]) -> Table:
    """Two LoCoMo results side by side, question by question (see
    :func:`mnemos.bench.compare.compare_reports`)."""

    def who(side: dict[str, Any]) -> str:
        parts = [side["name"], side["system"]]
        if side.get("embedder_id"):
            parts.append(side["embedder_id"])
        return ", ".join(parts) + (f" ({side['split']} split)" if side.get("split") else "")

    settings = result["settings"]
    share = f"{settings['confidence']:.0%}"
    margin = settings.get("margin")
    caption = (
        f"Δ: new minus base, over the same questions. {share} CI: paired bootstrap of "
        f"the questions ({settings['resamples']:,} resamples, seed {settings['seed']}); "
        "p: two-sided paired sign-flip permutation test; +/-/=: questions whose score "
        "went up, down, or stayed. An interval that holds 0 is a difference this many "
        "questions cannot tell from chance; where only a few questions changed, the "
        "interval is too narrow and p is the better guide."
    )
    if margin is not None:
        caption += (
            f" no worse by {margin:g}: yes where the whole interval lies above "
            f"-{margin:g} (non-inferiority, one-sided {(1 - settings['confidence']) / 2:.1%}), "
            "no where it lies below (a larger loss), open where it holds it."
        )
    table = Table(title=f"{who(result['base'])}\nagainst {who(result['new'])}", caption=caption)
    table.add_column("category", no_wrap=True)
    table.add_column("metric", no_wrap=True)
    table.add_column("n", justify="right")
    table.add_column("base", justify="right")
    table.add_column("new", justify="right")
    table.add_column("Δ", justify="right")
    table.add_column(f"{share} CI", justify="right", no_wrap=True)
    table.add_column("p", justify="right")
    table.add_column("+/-/=", justify="right", no_wrap=True)
    if margin is not None:
        table.add_column(f"no worse by {margin:g}", justify="right")
    for label in _LABELS:
        block = result["rows"].get(label)
        if not block:
            continue
        table.add_section()
        for i, (name, row) in enumerate(block.items()):
            table.add_row(
                f"{label} (n={row['n']})" if i == 0 else "",
                name,
                str(row["n"]),
                f"{row['base']:.3f}",
                f"{row['new']:.3f}",
                f"{row['delta']:+.3f}",
                f"[{row['low']:+.3f}, {row['high']:+.3f}]",
                "<0.001" if row["p"] < 0.001 else f"{row['p']:.3f}",
                f"{row['up']}/{row['down']}/{row['same']}",
                *([row["no_worse"] or "-"] if margin is not None else []),
            )
    return table


def changes_table(result: dict[str, Any]) -> Table:
    """The questions whose first compared metric changed between the two sides of a
    comparison (see :func:`mnemos.bench.compare.compare_reports`), largest falls first."""
    changes = result["changes"]
    questions = changes["questions"]
    down = sum(1 for c in questions if c["new"] < c["base"])
    table = Table(
        title=f"Questions whose {changes['metric']} changed: {down} down, "
        f"{len(questions) - down} up",
        caption="base and new: the question's score on each side; evidence: its turns.",
    )
    table.add_column("category", no_wrap=True)
    table.add_column("conversation", no_wrap=True)
    table.add_column("base", justify="right")
    table.add_column("new", justify="right")
    table.add_column("question")
    table.add_column("evidence")
    for c in questions:
        table.add_row(
            c["category"],
            c["sample_id"],
            f"{c['base']:.2f}",
            f"{c['new']:.2f}",
            c["question"],
            ", ".join(c["evidence"]),
        )
    return table


def misses_table(misses: list[dict[str, Any]], k: int, scored: int) -> Table:
    """The evidence turns not returned within the first ``k`` hits (see
    :func:`mnemos.bench.locomo.locomo_misses`); ``scored`` is how many hits were read."""
    turns = sum(len(q["missed"]) for q in misses)
    table = Table(
        title=f"Evidence not returned within {k} hits: {turns} turn{'' if turns == 1 else 's'}"
        f" of {len(misses)} question{'' if len(misses) == 1 else 's'}",
        caption=f"rank: the first of the {scored} hits read that returned the turn "
        f"(- where none did).",
    )
    table.add_column("category", no_wrap=True)
    table.add_column("conversation", no_wrap=True)
    table.add_column("question")
    table.add_column("turn", no_wrap=True)
    table.add_column("rank", justify="right")
    table.add_column("what was said")
    for q in misses:
        for i, turn in enumerate(q["missed"]):
            said = turn["text"] if len(turn["text"]) <= 160 else turn["text"][:159] + "…"
            table.add_row(
                q["category"] if i == 0 else "",
                q["sample_id"] if i == 0 else "",
                q["question"] if i == 0 else "",
                turn["dia_id"],
                str(turn["rank"]) if turn["rank"] is not None else "-",
                f"{turn['speaker']}: {said}" if turn["speaker"] else said,
            )
    return table


def longmemeval_table(report: dict[str, Any]) -> Table:
    """Session- and turn-level recall@k per question type."""
    ks = report["config"]["ks"]
    table = Table(
        title=f"LongMemEval retrieval ({report['config']['data']}), "
        f"embedder {report['config']['embedder_id']}",
        caption=(
            "session R@k: answer sessions among the sessions of the turns handed back by the "
            "first k hits; turn R@k: has_answer turns handed back. Abstention questions "
            "(ids ending in _abs) are not scored."
        ),
    )
    table.add_column("question type", no_wrap=True)
    table.add_column("n", justify="right")
    for k in ks:
        table.add_column(f"session R@{k}", justify="right")
    for k in ks:
        table.add_column(f"turn R@{k}", justify="right")
    for label, block in report["types"].items():
        if label == "overall":
            table.add_section()
        table.add_row(
            label,
            str(block["n"]),
            *(_fmt("r", block.get(f"session R@{k}")) for k in ks),
            *(_fmt("r", block.get(f"turn R@{k}")) for k in ks),
        )
    return table


def _mb(value: int | None) -> str:
    return "—" if value is None else f"{value / 2**20:,.0f}"


def speed_tables(report: dict[str, Any]) -> list[Table]:
    """The ingestion table and the search-at-scale table."""
    ing = report["ingestion"]
    encode = ing["query_encode_ms"]
    rounds = len(ing.get("rounds") or []) or 1
    first = Table(
        title=f"Ingestion: {ing['turns']:,} synthetic turns into a fresh store "
        f"(median of {rounds} round{'s' if rounds > 1 else ''})"
    )
    first.add_column("what")
    first.add_column("rate", justify="right")
    first.add_column("note")
    first.add_row(
        f"mnemos add, a turn per call ({ing['embedder_id']})",
        f"{ing['turns_per_s'] or 0:,.1f} turns/s",
        f"end to end; embedding {100 * (ing['embed_share'] or 0):.0f}% of the time; "
        f"{ing['unique_texts']:,} unique texts",
    )
    batched = ing.get("session_batches")
    if batched:
        first.add_row(
            "mnemos add, a session per call",
            f"{batched['turns_per_s'] or 0:,.1f} turns/s",
            f"end to end; embedding {100 * (batched['embed_share'] or 0):.0f}% of the time",
        )
    queued = ing.get("queued")
    if queued:
        first.add_row(
            "mnemos add(wait=False), a turn per call",
            f"{queued['turns_per_s'] or 0:,.1f} turns/s",
            f"stored as they come, derived {queued['derive_batch']} at a time; timed until "
            f"the last is derived; embedding {100 * (queued['embed_share'] or 0):.0f}% of the time",
        )
    base = ing.get("encode_baseline")
    if base:
        first.add_row(
            "sentence-transformers encode",
            f"{base['texts_per_s'] or 0:,.1f} texts/s",
            f"{base['what']}, same texts",
        )
        first.add_row(
            "ratio, a turn per call",
            f"{base['ingest_over_encode'] or 0:.2f}",
            "mnemos add / raw encode",
        )
        if base.get("session_batches_over_encode"):
            first.add_row(
                "ratio, a session per call",
                f"{base['session_batches_over_encode']:.2f}",
                "mnemos add / raw encode",
            )
        if base.get("queued_over_encode"):
            first.add_row(
                "ratio, a turn per call, wait=False",
                f"{base['queued_over_encode']:.2f}",
                "mnemos add / raw encode",
            )
        single = base.get("single")
        if single:
            first.add_row(
                "sentence-transformers encode, a text per call",
                f"{single['texts_per_s'] or 0:,.1f} texts/s",
                f"{single['what']}; first {single['texts']:,} texts",
            )
            first.add_row(
                "ratio, a turn per call / a text per call",
                f"{single['ingest_over_encode'] or 0:.2f}",
                "mnemos add (a turn per call) / encode (a text per call)",
            )
    first.add_row(
        f"query encode ({ing['embedder_id']})",
        f"p50 {encode['p50']:.1f} ms, p95 {encode['p95']:.1f} ms",
        "one question at a time, as a search does",
    )
    scale_embedder = report["config"]["scale_embedder"]
    second = Table(
        title=(
            "Search at scale: one store, one user scope, grown through `add` "
            f"(embedder: {scale_embedder})"
        ),
        caption=(
            (
                f"search: Memory.search(limit=10), query encode included ({scale_embedder}); "
                if not scale_embedder.startswith("hash")
                else f"search: Memory.search(limit=10) with the {scale_embedder} embedder, "
                "whose vector scan costs what a real one's does but whose query encode is near "
                f"free: add the query encode columns ({ing['embedder_id']}) for a real "
                "deployment; "
            )
            + "numpy: flat float32 scan + top-10 argpartition over the same number of "
            "vectors. RSS: this process (current / peak while growing to and searching that "
            "size)."
        ),
    )
    for col in ("memories", "turns", "grow turns/s", "grow embed %", "first search ms",
                "search p50 ms", "search p95 ms", "+ encode p50 ms", "+ encode p95 ms",
                "numpy p50 ms", "numpy p95 ms", "store MB", "RSS MB", "peak RSS MB"):  # fmt: skip
        second.add_column(col, justify="right")
    for row in report["scale"]:
        second.add_row(
            f"{row.get('memories', row['size']):,}",
            f"{row['turns']:,}" if "turns" in row else "",
            f"{row['grow_turns_per_s'] or 0:,.0f}",
            f"{100 * (row.get('grow_embed_share') or 0):.1f}",
            f"{row['first_search_ms']:.1f}",
            f"{row['search_ms']['p50']:.1f}",
            f"{row['search_ms']['p95']:.1f}",
            f"{encode['p50']:.1f}",
            f"{encode['p95']:.1f}",
            f"{row['numpy_scan_ms']['p50']:.2f}",
            f"{row['numpy_scan_ms']['p95']:.2f}",
            _mb(row["store_bytes"]),
            _mb(row["rss_bytes"]),
            _mb(row["peak_rss_bytes"]),
        )
    return [first, second]
