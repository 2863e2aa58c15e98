"""Shared fixtures.

Storage and API tests use the deterministic hash embedder; tests whose outcome depends on
meaning use the real default embedder, loaded once per session.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from mnemos import Memory
from mnemos.embedders.hashing import HashEmbedder

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(autouse=True)
def _isolated_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Keep every test away from the user's real config file and data directory."""
    for key in list(os.environ):
        if key.startswith("MNEMOS_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("MNEMOS_CONFIG", str(tmp_path / "no-config.toml"))
    (tmp_path / "no-config.toml").write_text("", encoding="utf-8")
    monkeypatch.setenv("MNEMOS_DATA_DIR", str(tmp_path / "data"))


@pytest.fixture
def hash_embedder() -> HashEmbedder:
    return HashEmbedder(dimension=64)


@pytest.fixture
def mem(tmp_path: Path) -> Iterator[Memory]:
    with Memory(tmp_path / "mem.db", embedder="hash") as memory:
        yield memory


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One model cache for the whole run, so the static embedder is distilled once."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def static_embedder(models_dir: Path):  # type: ignore[no-untyped-def]
    from mnemos.embedders.static import StaticEmbedder

    embedder = StaticEmbedder(cache_dir=models_dir)
    embedder.embed(["warm up"])
    return embedder


@pytest.fixture(scope="session")
def minilm():  # type: ignore[no-untyped-def]
    from mnemos.embedders.minilm import MiniLMEmbedder

    embedder = MiniLMEmbedder()
    embedder.embed(["warm up"])
    return embedder


@pytest.fixture
def semantic_mem(tmp_path: Path, minilm) -> Iterator[Memory]:  # type: ignore[no-untyped-def]
    with Memory(tmp_path / "semantic.db", embedder=minilm) as memory:
        yield memory
