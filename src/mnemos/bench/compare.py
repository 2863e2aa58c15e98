"""Two LoCoMo results compared question by question, with the uncertainty of the difference.

A change to recall moves a few questions out of hundreds, so a difference in a category's
mean says little on its own: a run of the same code on other questions would move it too.
:func:`compare_reports` pairs the questions of two ``mnemos bench locomo --json`` reports
(or two systems of one report), and for each category and metric gives the mean of each,
their difference (new minus base), a paired bootstrap confidence interval of that
difference, a two-sided paired sign-flip permutation test, and how many questions went up
or down. Both resamplings are seeded, so the same reports always give the same figures.

"No worse" is a claim of its own: a difference that chance cannot tell from zero may still
hide a loss. Given a margin (say 0.01 of recall), a row is shown no worse when the whole
interval lies above minus the margin: with a 95% interval, a non-inferiority test at a
one-sided 2.5% level. An interval that reaches below it leaves the question open; one that
lies wholly below it shows a loss larger than the margin.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from mnemos.bench.locomo import (
    ADVERSARIAL_LABEL,
    CATEGORIES,
    DESCRIPTIVE,
    LOWER_IS_BETTER,
    MNEMOS,
    OVERALL,
    category_label,
)
from mnemos.errors import InvalidInputError

__all__ = ["DEFAULT_METRICS", "compare_reports", "load_report"]

DEFAULT_METRICS = ("R@10", "R@1000tok")
# Resamples are drawn this many at a time, so memory stays small for any count.
_CHUNK = 1000

_Key = tuple[str, int, str, tuple[str, ...], int]


def load_report(path: str | Path) -> dict[str, Any]:
    """A report written by ``mnemos bench locomo --json``.

    Raises:
        InvalidInputError: the file is unreadable, not JSON, or not a LoCoMo report with
            its per-question records.
    """
    source = Path(path)
    try:
        report = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"cannot read {source}: {exc}", field="report") from None
    except json.JSONDecodeError as exc:
        raise InvalidInputError(f"{source} is not JSON: {exc}", field="report") from None
    if not isinstance(report, dict) or report.get("benchmark") != "locomo":
        raise InvalidInputError(
            f"{source} is not a LoCoMo report (write one with mnemos bench locomo --json)",
            field="report",
        )
    if not isinstance(report.get("questions"), list):
        raise InvalidInputError(f"{source} has no per-question records", field="report")
    return report


def _scores(report: dict[str, Any], system: str, name: str) -> dict[_Key, dict[str, float]]:
    """Each question's scores for one system, keyed so that the same question of another
    run of the same data finds it (a question asked twice keeps its occurrence)."""
    seen: Counter[tuple[str, int, str, tuple[str, ...]]] = Counter()
    out: dict[_Key, dict[str, float]] = {}
    systems: set[str] = set()
    for q in report["questions"]:
        try:
            base = (
                str(q["sample_id"]),
                int(q["category"]),
                str(q["question"]),
                tuple(str(e) for e in q["evidence"]),
            )
            entries = q["systems"]
        except (KeyError, TypeError, ValueError):
            raise InvalidInputError(
                f"{name}: a question record lacks sample_id, category, question, evidence "
                "or systems",
                field="report",
            ) from None
        systems.update(entries)
        occurrence = seen[base]
        seen[base] += 1
        if system in entries:
            out[(*base, occurrence)] = dict(entries[system].get("scores", {}))
    if not out:
        listed = ", ".join(sorted(systems)) or "none"
        raise InvalidInputError(
            f"{name} has no results for system {system!r} (it has: {listed})", field="system"
        )
    return out


def _chunks(resamples: int) -> Iterator[int]:
    """The number of resamples to draw at each step, ``_CHUNK`` at most."""
    for start in range(0, resamples, _CHUNK):
        yield min(_CHUNK, resamples - start)


def _interval(
    diffs: np.ndarray, resamples: int, rng: np.random.Generator, confidence: float
) -> tuple[float, float]:
    n = len(diffs)
    every = np.concatenate(
        [diffs[rng.integers(0, n, size=(take, n))].mean(axis=1) for take in _chunks(resamples)]
    )
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(every, [tail, 100 - tail])
    return float(low), float(high)


def _sign_flip_p(diffs: np.ndarray, resamples: int, rng: np.random.Generator) -> float:
    observed = abs(float(diffs.mean()))
    if not np.any(diffs):
        return 1.0
    n = len(diffs)
    extreme = 0
    for take in _chunks(resamples):
        signs = rng.integers(0, 2, size=(take, n)) * 2 - 1
        extreme += int(np.sum(np.abs((signs * diffs).mean(axis=1)) >= observed - 1e-12))
    return (extreme + 1) / (resamples + 1)


def _verdict(low: float, high: float, margin: float) -> str:
    """Whether an interval of new minus base shows new no worse than base by ``margin``."""
    if low > -margin:
        return "yes"
    if high < -margin:
        return "no"
    return "open"


def compare_reports(
    base: dict[str, Any],
    new: dict[str, Any] | None = None,
    *,
    system: str = MNEMOS,
    against: str | None = None,
    metrics: tuple[str, ...] = DEFAULT_METRICS,
    resamples: int = 10_000,
    seed: int = 0,
    confidence: float = 0.95,
    names: tuple[str, str] = ("base", "new"),
    margin: float | None = None,
) -> dict[str, Any]:
    """Compare ``system`` in ``base`` with ``against`` in ``new``, question by question.

    Args:
        base: A LoCoMo report (see :func:`load_report`).
        new: A second report of the same questions; ``None`` compares two systems of
            ``base``.
        system: The system read from ``base``.
        against: The system read from ``new`` (default: ``system``).
        metrics: Per-question scores to compare, e.g. ``R@10``, ``R@1000tok``, ``NDCG@10``.
        resamples: Bootstrap and permutation resamples.
        seed: Seed of both resamplings.
        confidence: Width of the bootstrap interval.
        names: How the two sides are called in errors and in the result.
        margin: The largest loss that still counts as no worse (e.g. ``0.01``); given,
            each row also holds ``no_worse``: ``"yes"`` (the interval lies above
            ``-margin``), ``"no"`` (it lies below: a loss larger than the margin) or
            ``"open"`` (it holds ``-margin``); ``None`` for a metric that is not a share
            where more is better (tokens, turns per hit), which a margin cannot judge.

    Returns:
        ``{"base": ..., "new": ..., "settings": ..., "rows": {category: {metric: row}},
        "changes": ...}`` where a row holds ``n``, ``base``, ``new``, ``delta`` (new minus
        base), ``low`` and ``high`` (the interval), ``p``, ``up``, ``down`` and ``same``
        (counts of questions), and with a margin ``no_worse``; ``changes`` names the
        first metric and lists the questions whose score on it changed (conversation,
        category, question, evidence, both scores), in the benchmark's category order,
        the largest falls first.

    Raises:
        InvalidInputError: a system or metric the reports lack, nothing to compare, bad
            settings, or reports of different questions.
    """
    other = new if new is not None else base
    other_name = names[1] if new is not None else names[0]
    against = against or system
    if new is None and against == system:
        raise InvalidInputError(
            "nothing to compare: give a second report, or another system with --against",
            field="against",
        )
    if resamples < 100:
        raise InvalidInputError("resamples must be at least 100", field="resamples")
    if not 0 < confidence < 1:
        raise InvalidInputError("confidence must be between 0 and 1", field="confidence")
    if not metrics:
        raise InvalidInputError("name at least one metric, e.g. R@10", field="metric")
    if margin is not None and not 0 <= margin < 1:
        raise InvalidInputError(
            f"margin must be at least 0 and below 1 (a share of the metric), not {margin}",
            field="margin",
        )
    first = _scores(base, system, names[0])
    second = _scores(other, against, other_name)
    only_first, only_second = first.keys() - second.keys(), second.keys() - first.keys()
    if only_first or only_second:
        splits = (base.get("config", {}).get("split"), other.get("config", {}).get("split"))
        raise InvalidInputError(
            f"the reports asked different questions: {len(only_first)} only in {names[0]}, "
            f"{len(only_second)} only in {other_name} (splits {splits[0]} and {splits[1]})",
            field="report",
        )
    known = {k for s in first.values() for k in s} & {k for s in second.values() for k in s}
    unknown = [name for name in metrics if name not in known]
    if unknown:
        raise InvalidInputError(
            f"unknown metric(s) {', '.join(unknown)}; both reports have "
            f"{', '.join(sorted(k for k in known if not k.startswith('_')))}",
            field="metric",
        )

    groups: dict[str, list[_Key]] = {label: [] for label in [*CATEGORIES.values(), OVERALL]}
    groups[ADVERSARIAL_LABEL] = []
    for key in first:
        label = category_label(key[1])
        if label is None:
            continue
        groups[label].append(key)
        if label != ADVERSARIAL_LABEL:
            groups[OVERALL].append(key)

    rng = np.random.default_rng(seed)
    rows: dict[str, dict[str, Any]] = {}
    for label, keys in groups.items():
        row: dict[str, Any] = {}
        for name in metrics:
            pairs = [
                (first[k][name], second[k][name])
                for k in keys
                if name in first[k] and name in second[k]
            ]
            if not pairs:
                continue
            a = np.array([p[0] for p in pairs], dtype=np.float64)
            b = np.array([p[1] for p in pairs], dtype=np.float64)
            diffs = b - a
            low, high = _interval(diffs, resamples, rng, confidence)
            row[name] = {
                "n": len(pairs),
                "base": float(a.mean()),
                "new": float(b.mean()),
                "delta": float(diffs.mean()),
                "low": low,
                "high": high,
                "p": _sign_flip_p(diffs, resamples, rng),
                "up": int(np.sum(diffs > 0)),
                "down": int(np.sum(diffs < 0)),
                "same": int(np.sum(diffs == 0)),
            }
            if margin is not None:
                judged = name not in LOWER_IS_BETTER and name not in DESCRIPTIVE
                row[name]["no_worse"] = _verdict(low, high, margin) if judged else None
        if row:
            rows[label] = row

    # The questions whose first metric moved, in the benchmark's order, largest falls first.
    order = {label: i for i, label in enumerate(groups)}
    metric = metrics[0]
    moved: list[tuple[int, float, _Key, str]] = []
    for key in first:
        label = category_label(key[1])
        was, now = first[key].get(metric), second[key].get(metric)
        if label is not None and was is not None and now is not None and was != now:
            moved.append((order[label], now - was, key, label))
    moved.sort(key=lambda m: (m[0], m[1]))
    changed = [
        {
            "sample_id": key[0],
            "category": label,
            "question": key[2],
            "evidence": list(key[3]),
            "base": first[key][metric],
            "new": second[key][metric],
        }
        for _, _, key, label in moved
    ]

    def side(report: dict[str, Any], who: str, name: str) -> dict[str, Any]:
        config = report.get("config", {})
        return {
            "name": name,
            "system": who,
            "split": config.get("split"),
            "embedder_id": config.get("embedder_id") if who == MNEMOS else None,
            "mnemos_version": report.get("mnemos_version"),
        }

    return {
        "benchmark": "locomo-compare",
        "base": side(base, system, names[0]),
        "new": side(other, against, other_name),
        "settings": {
            "resamples": resamples,
            "seed": seed,
            "confidence": confidence,
            "margin": margin,
        },
        "rows": rows,
        "changes": {"metric": metric, "questions": changed},
    }
