"""The mnemos export format: JSON Lines, one record a line, lossless.

::

    {"type": "header", "format": "mnemos-export", "version": 1, "exported_at": "...",
     "mnemos": "0.1.0", "tenant": "default", "user_id": null, "embedder": "...", "dimension": 384}
    {"type": "episode", "record": {...}}      every episode, as mnemos.Episode
    {"type": "entity", "record": {...}}       every entity, as mnemos.Entity
    {"type": "memory", "record": {...}}       every memory in any status, as mnemos.MemoryRecord
    {"type": "history", "record": {...}}      every history event, as mnemos.HistoryEvent
    {"type": "footer", "counts": {"episode": N, "entity": N, "memory": N, "history": N}}

Ids, versions, times (UTC, ISO 8601 with microseconds), metadata, statuses, evidence links
and history are all kept, so export -> import -> export gives the same records. Vectors are
not exported: the importing store embeds the texts with its own embedder. The footer's
counts detect a truncated file.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from mnemos._time import now
from mnemos.errors import InvalidInputError, StorePathError
from mnemos.models import Entity, Episode, HistoryEvent, MemoryRecord

__all__ = ["FORMAT", "VERSION", "ExportFile", "read_export", "write_export"]

FORMAT = "mnemos-export"
VERSION = 1
_MODELS: dict[str, type[Episode] | type[Entity] | type[MemoryRecord] | type[HistoryEvent]] = {
    "episode": Episode,
    "entity": Entity,
    "memory": MemoryRecord,
    "history": HistoryEvent,
}


@dataclass
class ExportFile:
    """The parsed content of an export file."""

    header: dict[str, Any]
    episodes: list[Episode] = field(default_factory=list)
    entities: list[Entity] = field(default_factory=list)
    memories: list[MemoryRecord] = field(default_factory=list)
    history: list[HistoryEvent] = field(default_factory=list)


def _line(obj: dict[str, Any]) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n"


def write_export(
    path: str | os.PathLike[str],
    header: dict[str, Any],
    records: Iterable[Episode | Entity | MemoryRecord | HistoryEvent],
) -> dict[str, int]:
    """Write an export atomically (a temporary file renamed into place).

    Returns:
        Record counts by type.

    Raises:
        StorePathError: the file cannot be written.
    """
    target = Path(path).expanduser()
    counts = {"episode": 0, "entity": 0, "memory": 0, "history": 0}
    kinds = {Episode: "episode", Entity: "entity", MemoryRecord: "memory", HistoryEvent: "history"}
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".mnemos-export-", dir=target.parent)
    except OSError as exc:
        raise StorePathError(
            f"cannot write {target}: {exc.strerror or exc}", path=str(target)
        ) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(
                _line(
                    {
                        "type": "header",
                        "format": FORMAT,
                        "version": VERSION,
                        "exported_at": now().isoformat(),
                        **header,
                    }
                )
            )
            for record in records:
                kind = kinds[type(record)]
                counts[kind] += 1
                fh.write(_line({"type": kind, "record": record.model_dump(mode="json")}))
            fh.write(_line({"type": "footer", "counts": counts}))
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise StorePathError(
            f"cannot write {target}: {exc.strerror or exc}", path=str(target)
        ) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return counts


def _lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise InvalidInputError(
            f"cannot read {path}: {exc.strerror or exc}", path=str(path)
        ) from None
    with fh:
        for number, raw in enumerate(fh, start=1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise InvalidInputError(f"{path}:{number}: not valid UTF-8", line=number) from None
            if not text.strip():
                continue
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as exc:
                raise InvalidInputError(
                    f"{path}:{number}: not JSON ({exc.msg})", line=number
                ) from None
            if not isinstance(obj, dict):
                raise InvalidInputError(f"{path}:{number}: expected a JSON object", line=number)
            yield number, obj


def read_export(path: str | os.PathLike[str]) -> ExportFile:
    """Parse and validate a whole export file before anything is imported.

    Raises:
        InvalidInputError: the file is unreadable, not a mnemos export, truncated, or a
            record does not validate (the message names the line).
    """
    source = Path(path).expanduser()
    lines = _lines(source)
    first = next(lines, None)
    if first is None or first[1].get("type") != "header" or first[1].get("format") != FORMAT:
        raise InvalidInputError(f"{source} is not a mnemos export (no mnemos-export header)")
    header = first[1]
    if header.get("version") != VERSION:
        raise InvalidInputError(
            f"{source} is export format version {header.get('version')}; "
            f"this mnemos reads version {VERSION}"
        )
    out = ExportFile(header=header)
    footer: dict[str, Any] | None = None
    for number, obj in lines:
        if footer is not None:
            raise InvalidInputError(f"{source}:{number}: content after the footer", line=number)
        kind = obj.get("type")
        if kind == "footer":
            footer = obj
            continue
        model = _MODELS.get(kind)  # type: ignore[arg-type]
        if model is None:
            raise InvalidInputError(f"{source}:{number}: unknown record type {kind!r}", line=number)
        try:
            record = model.model_validate(obj.get("record"))
        except ValidationError as exc:
            first_error = exc.errors()[0]
            where = ".".join(str(p) for p in first_error["loc"])
            raise InvalidInputError(
                f"{source}:{number}: invalid {kind} record ({where}: {first_error['msg']})",
                line=number,
            ) from None
        buckets: dict[str, list[Any]] = {
            "episode": out.episodes,
            "entity": out.entities,
            "memory": out.memories,
            "history": out.history,
        }
        buckets[str(kind)].append(record)
    if footer is None:
        raise InvalidInputError(f"{source} is truncated: it has no footer line")
    counts = {
        "episode": len(out.episodes),
        "entity": len(out.entities),
        "memory": len(out.memories),
        "history": len(out.history),
    }
    if footer.get("counts") != counts:
        raise InvalidInputError(
            f"{source} is incomplete: the footer promises {footer.get('counts')}, found {counts}"
        )
    return out
