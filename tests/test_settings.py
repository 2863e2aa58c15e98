"""Settings precedence: keyword arguments > environment > config file > defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from mnemos import ConfigurationError, Memory, Settings


def test_defaults_are_local(tmp_path: Path) -> None:
    settings = Settings.load()
    assert settings.embedder == "minilm-static"
    assert settings.tenant == "default"
    assert settings.store_path == tmp_path / "data" / "mnemos.db"


def test_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "mnemos.toml"
    config.write_text('[mnemos]\ntenant = "from-file"\nembedder = "hash"\nrrf_k = 10\n')
    monkeypatch.setenv("MNEMOS_CONFIG", str(config))
    assert (Settings.load().tenant, Settings.load().rrf_k) == ("from-file", 10)
    monkeypatch.setenv("MNEMOS_TENANT", "from-env")
    assert Settings.load().tenant == "from-env"
    assert Settings.load(tenant="from-kwarg").tenant == "from-kwarg"
    assert Settings.load().embedder == "hash"


def test_memory_reads_settings_once_at_construction(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MNEMOS_EMBEDDER", "hash")
    monkeypatch.setenv("MNEMOS_PATH", str(tmp_path / "env.db"))
    with Memory() as mem:
        monkeypatch.setenv("MNEMOS_PATH", str(tmp_path / "other.db"))
        mem.add("x", user_id="u")
        assert mem.settings.store_path == tmp_path / "env.db"
    assert (tmp_path / "env.db").exists()
    assert not (tmp_path / "other.db").exists()


def test_bad_config_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("tenant = [unclosed")
    monkeypatch.setenv("MNEMOS_CONFIG", str(config))
    with pytest.raises(ConfigurationError, match="cannot read config file"):
        Settings.load()
    monkeypatch.setenv("MNEMOS_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigurationError, match="not a file"):
        Settings.load()
    config.write_text("unknown_setting = 1\n")
    monkeypatch.setenv("MNEMOS_CONFIG", str(config))
    with pytest.raises(ConfigurationError, match="unknown_setting"):
        Settings.load()


def test_every_setting_is_documented() -> None:
    for name, field in Settings.model_fields.items():
        assert field.description, name
    readme = (Path(__file__).resolve().parents[1] / "docs" / "configuration.md").read_text()
    for name in Settings.model_fields:
        assert f"MNEMOS_{name.upper()}" in readme, name
