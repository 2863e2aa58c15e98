"""Reader for LoCoMo's ``locomo10.json`` (Maharana et al., ACL 2024).

Only the conversation is read: speakers, sessions with their dates, turns with their text
and, for shared images, the image caption. The dataset's ``observation``,
``session_summary`` and ``event_summary`` are annotations written with an LLM and are never
read here; neither is an image's search ``query``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mnemos.errors import InvalidInputError
from mnemos.io import read_json

__all__ = ["QA", "Conversation", "Session", "Turn", "load_locomo", "parse_locomo_date"]

_SESSION = re.compile(r"^session_(\d+)$")


@dataclass(frozen=True, slots=True)
class Turn:
    """One turn: its dialogue id (``D3:7``), speaker and text (caption included)."""

    dia_id: str
    speaker: str
    text: str


@dataclass(frozen=True, slots=True)
class Session:
    """One session: its number, its date and its turns in order."""

    index: int
    at: datetime
    turns: list[Turn]


@dataclass(frozen=True, slots=True)
class QA:
    """One question with its category (1-5), answer and evidence dialogue ids."""

    question: str
    answer: str
    category: int
    evidence: list[str]


@dataclass(frozen=True, slots=True)
class Conversation:
    """One LoCoMo sample: two speakers, their sessions and the questions about them."""

    sample_id: str
    speaker_a: str
    speaker_b: str
    sessions: list[Session]
    qa: list[QA] = field(default_factory=list)

    @property
    def turns(self) -> list[Turn]:
        """Every turn in order."""
        return [t for s in self.sessions for t in s.turns]


def parse_locomo_date(text: str) -> datetime:
    """Parse LoCoMo's session dates, e.g. ``"1:56 pm on 8 May, 2023"`` (taken as UTC).

    Raises:
        InvalidInputError: the text is not in that form.
    """
    try:
        return datetime.strptime(text.strip(), "%I:%M %p on %d %B, %Y").replace(tzinfo=UTC)
    except ValueError:
        raise InvalidInputError(f"unrecognised LoCoMo session date {text!r}") from None


def _turn_text(turn: dict[str, Any]) -> str:
    text = str(turn.get("text", "")).strip()
    caption = turn.get("blip_caption")
    if isinstance(caption, str) and caption.strip():
        text = f"{text} [shares a photo: {caption.strip()}]".strip()
    return text


_DIA = re.compile(r"^D:?(\d+):(\d+)$")


def _evidence(raw: Any) -> list[str]:
    # A few evidence entries are malformed ("D8:6; D9:17", "D:11:26", "D30:05", "D"):
    # split, normalise to "D<session>:<turn>", and drop what names no turn.
    out: list[str] = []
    for item in raw or []:
        for piece in re.split(r"[;,\s]+", str(item)):
            match = _DIA.match(piece)
            if match:
                out.append(f"D{int(match.group(1))}:{int(match.group(2))}")
    return out


def load_locomo(path: str | os.PathLike[str]) -> list[Conversation]:
    """Read every conversation (and its questions) from a LoCoMo JSON file.

    Raises:
        InvalidInputError: the file is unreadable or not in LoCoMo's layout.
    """
    source = Path(path)
    data = read_json(source, "LoCoMo file")
    if not isinstance(data, list) or not all(
        isinstance(s, dict) and "conversation" in s for s in data
    ):
        raise InvalidInputError(f"{source} is not a LoCoMo file (a list of samples expected)")
    out = []
    for sample in data:
        conv = sample["conversation"]
        sessions = []
        for key, turns in conv.items():
            match = _SESSION.match(key)
            if not match or not isinstance(turns, list):
                continue
            index = int(match.group(1))
            date = conv.get(f"{key}_date_time")
            if not isinstance(date, str):
                raise InvalidInputError(f"{sample.get('sample_id')}: {key} has no date")
            sessions.append(
                Session(
                    index=index,
                    at=parse_locomo_date(date),
                    turns=[
                        Turn(_evidence([t["dia_id"]])[0], str(t["speaker"]), _turn_text(t))
                        for t in turns
                        if _turn_text(t)
                    ],
                )
            )
        sessions.sort(key=lambda s: s.index)
        qa = [
            QA(
                question=str(q["question"]),
                answer=str(q.get("answer", q.get("adversarial_answer", ""))),
                category=int(q["category"]),
                evidence=_evidence(q.get("evidence")),
            )
            for q in sample.get("qa", [])
        ]
        out.append(
            Conversation(
                sample_id=str(sample["sample_id"]),
                speaker_a=str(conv["speaker_a"]),
                speaker_b=str(conv["speaker_b"]),
                sessions=sessions,
                qa=qa,
            )
        )
    return out
