"""``mnemos bench truth``: does memory stay true as facts change?

Runs the project's operation-level corpus (``mnemos/data/truth_corpus.json``): short
multi-session conversations with updates, corrections, negations, reversals, duplicates and
distractors, each session annotated with the claims it asserts and the user's expected
state after it, and questions whose right answer changed over time. Reports:

- **extraction precision / recall**: the claims derived from each session against the
  claims it asserts (same attribute and polarity, values matching);
- **update accuracy**: after each session, the user's current attributes (from the entity
  profile) against the expected state, attribute by attribute;
- **stale facts returned as current**: questions whose top-5 hits include an active memory
  that still asserts a value the question lists as outdated (claims for questions about an
  attribute, text otherwise);
- **answer found**: questions whose top-5 hits contain the right answer;
- **duplicate rate**: share of active statements that repeat another active statement.
"""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz

from mnemos.engine.indexing import norm_hash
from mnemos.memory import Memory
from mnemos.models import MemoryRecord, SearchHit
from mnemos.nlp.entities import entity_key

__all__ = ["TruthReport", "load_corpus", "run_truth"]


def load_corpus(path: str | Path | None = None) -> dict[str, Any]:
    """The bundled corpus, or one at ``path`` in the same format."""
    if path is not None:
        data: dict[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"))
        return data
    text = resources.files("mnemos").joinpath("data/truth_corpus.json").read_text("utf-8")
    out: dict[str, Any] = json.loads(text)
    return out


def _norm(value: str) -> str:
    value = re.sub(r"[^\w\s]", " ", value.casefold())
    return " ".join(w for w in value.split() if w not in {"the", "a", "an", "my"})


def values_match(a: str, b: str) -> bool:
    """Whether two claim values name the same thing (containment or a close fuzzy match)."""
    x, y = _norm(a), _norm(b)
    if not x or not y:
        return False
    if x == y or f" {x} " in f" {y} " or f" {y} " in f" {x} ":
        return True
    return fuzz.token_set_ratio(x, y) >= 85


@dataclass
class TruthReport:
    """The corpus scores and the details behind them."""

    conversations: int = 0
    sessions: int = 0
    extracted: int = 0
    extracted_correct: int = 0
    asserted: int = 0
    asserted_found: int = 0
    state_checks: int = 0
    state_correct: int = 0
    questions: int = 0
    stale: int = 0
    answers_found: int = 0
    statements: int = 0
    duplicate_statements: int = 0
    merges: int = 0
    supersessions: int = 0
    errors: list[str] = field(default_factory=list)

    def metrics(self) -> dict[str, float]:
        """The headline figures."""

        def ratio(a: int, b: int) -> float:
            return round(a / b, 3) if b else 0.0

        return {
            "extraction_precision": ratio(self.extracted_correct, self.extracted),
            "extraction_recall": ratio(self.asserted_found, self.asserted),
            "update_accuracy": ratio(self.state_correct, self.state_checks),
            "stale_returned_as_current": float(self.stale),
            "stale_rate": ratio(self.stale, self.questions),
            "answer_found_at_5": ratio(self.answers_found, self.questions),
            "duplicate_rate": ratio(self.duplicate_statements, self.statements),
        }

    def to_dict(self) -> dict[str, Any]:
        """Everything, JSON-ready."""
        return {
            "metrics": self.metrics(),
            "counts": {
                k: v
                for k, v in self.__dict__.items()
                if isinstance(v, int) and not isinstance(v, bool)
            },
            "errors": self.errors,
        }


def _claims(record: MemoryRecord, subject: str) -> list[tuple[str, str, bool]]:
    return [
        (str(c["attribute"]), str(c["value"]), bool(c.get("positive", True)))
        for c in record.attributes.get("claims") or []
        if c.get("subject") == subject
    ]


def _state(mem: Memory, user_scope: str, subject: str) -> dict[str, list[str]]:
    found = [
        e
        for e in mem.entities.search(subject, user_id=user_scope, limit=50).items
        if e.key == subject and e.kind == "person"
    ]
    return found[0].attributes if found else {}


def _hit_records(mem: Memory, hit: SearchHit) -> list[MemoryRecord]:
    ids = list(dict.fromkeys([hit.id, *hit.matched]))
    return [mem.get(i) for i in ids]


def _is_stale(mem: Memory, hit: SearchHit, question: dict[str, Any], subject: str) -> bool:
    stale_values = question.get("stale") or []
    slot = question.get("slot")
    for record in _hit_records(mem, hit):
        if question.get("at") is None and record.status != "active":
            continue
        if slot:
            for attribute, value, positive in _claims(record, subject):
                if (
                    attribute == slot
                    and positive
                    and any(values_match(value, s) for s in stale_values)
                ):
                    return True
        elif any(_asserts(record.text, s) for s in stale_values):
            return True
    return False


def _asserts(text: str, value: str) -> bool:
    """Whether ``text`` mentions ``value`` other than to deny it ("not Monday")."""
    for m in re.finditer(rf"\b{re.escape(value)}\b", text, re.IGNORECASE):
        before = text[: m.start()].lower().split()[-3:]
        if not ({"not", "instead", "never"} & set(before)):
            return True
    return False


def _claim_text(conv: str, index: int, what: str, claim: tuple[str, str, bool]) -> str:
    attr, value, positive = claim
    return f"{conv}/s{index + 1}: {what} claim {attr}={value!r}{'' if positive else ' (negated)'}"


def _score_session(
    report: TruthReport,
    mem: Memory,
    conv: dict[str, Any],
    index: int,
    scope: str,
    subject: str,
    tracked: set[str],
) -> None:
    session = conv["sessions"][index]
    report.sessions += 1
    result = mem.add(
        session["messages"], user_id=scope, session_id=f"s{index + 1}", at=session["at"]
    )
    report.merges += sum(1 for c in result.changes if c.event == "MERGE")
    report.supersessions += sum(1 for c in result.changes if c.event == "SUPERSEDE")
    # A claim said again merges into the memory that already holds it; a corrected copy
    # restates what was said before, and a carried one what stays true of it: neither is a
    # new claim.
    merged = [mem.get(c.memory_id) for c in result.changes if c.event == "MERGE"]
    fresh = [
        r
        for r in result.memories
        if not r.attributes.get("corrected") and not r.attributes.get("carried_from")
    ]
    sources = [*fresh, *(m for m in merged if m.status == "active")]
    extracted = [c for r in sources for c in _claims(r, subject)]
    asserted = [(a[0], str(a[1]), a[2] if len(a) > 2 else True) for a in session.get("asserts", [])]
    report.extracted += len(extracted)
    report.asserted += len(asserted)
    for claim in extracted:
        if any(
            claim[0] == a and claim[2] == p and values_match(claim[1], v) for a, v, p in asserted
        ):
            report.extracted_correct += 1
        else:
            report.errors.append(_claim_text(conv["id"], index, "extra", claim))
    for claim in asserted:
        if any(
            claim[0] == a and claim[2] == p and values_match(v, claim[1]) for a, v, p in extracted
        ):
            report.asserted_found += 1
        else:
            report.errors.append(_claim_text(conv["id"], index, "missed", claim))
    state = _state(mem, scope, subject)
    expect = session.get("expect", {})
    for attr in sorted(tracked):
        want, have = expect.get(attr, []), state.get(attr, [])
        ok = len(want) == len(have) and all(any(values_match(h, w) for h in have) for w in want)
        report.state_checks += 1
        report.state_correct += ok
        if not ok:
            report.errors.append(f"{conv['id']}/s{index + 1}: {attr} is {have}, expected {want}")


def _score_question(
    report: TruthReport,
    mem: Memory,
    conv_id: str,
    question: dict[str, Any],
    scope: str,
    subject: str,
) -> None:
    report.questions += 1
    hits = mem.search(question["q"], user_id=scope, limit=5, at=question.get("at")).hits
    if any(_is_stale(mem, h, question, subject) for h in hits):
        report.stale += 1
        report.errors.append(f"{conv_id}: stale answer to {question['q']!r}")
    texts = " ".join([h.text for h in hits] + [mem.get(m).text for h in hits for m in h.matched])
    if re.search(rf"\b{re.escape(question['answer'])}", texts, re.IGNORECASE):
        report.answers_found += 1
    else:
        report.errors.append(
            f"{conv_id}: {question['answer']!r} not in the top 5 for {question['q']!r}"
        )


def run_truth(
    corpus: dict[str, Any] | None = None,
    *,
    split: str | None = None,
    embedder: str = "minilm-static",
    data_dir: Path | None = None,
) -> TruthReport:
    """Ingest every conversation (of one split, if given) into a fresh store, session by
    session, and score it."""
    corpus = corpus or load_corpus()
    conversations = [c for c in corpus["conversations"] if split is None or c.get("split") == split]
    report = TruthReport()
    options: dict[str, Any] = {"embedder": embedder}
    if data_dir is not None:
        options["data_dir"] = data_dir
    with (
        tempfile.TemporaryDirectory(prefix="mnemos-truth-") as tmp,
        Memory(Path(tmp) / "truth.db", **options) as mem,
    ):
        for conv in conversations:
            report.conversations += 1
            scope = f"truth-{conv['id']}"
            subject = entity_key(conv["user"], singular=False)
            tracked = {a for s in conv["sessions"] for a in s.get("expect", {})}
            for index in range(len(conv["sessions"])):
                _score_session(report, mem, conv, index, scope, subject, tracked)
            for question in conv.get("questions", []):
                _score_question(report, mem, conv["id"], question, scope, subject)
            active = [m for m in mem.get_all(user_id=scope, limit=1000).items if m.kind != "note"]
            norms = [norm_hash(m.text) for m in active]
            report.statements += len(active)
            report.duplicate_statements += len(norms) - len(set(norms))
    return report
