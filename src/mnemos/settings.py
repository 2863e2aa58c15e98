"""One typed settings object, read once where a Memory is built.

Precedence, highest first: keyword arguments > environment variables (``MNEMOS_`` prefix) >
the TOML config file (``MNEMOS_CONFIG`` or ``<config dir>/mnemos/config.toml``) > defaults.
Defaults are local: a store under the user's data directory, the bundled local embedder, no
network, no telemetry.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

import platformdirs
from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from mnemos.errors import ConfigurationError

__all__ = ["Settings", "default_config_path"]


def default_config_path() -> Path:
    """Where the config file is looked for when ``MNEMOS_CONFIG`` is not set."""
    return platformdirs.user_config_path("mnemos") / "config.toml"


class _TomlSource(PydanticBaseSettingsSource):
    """Reads the ``[mnemos]`` table (or the top level) of the TOML config file."""

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)
        env = os.environ.get("MNEMOS_CONFIG")
        self.path = Path(env) if env else default_config_path()
        self.explicit = env is not None

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        # Unused: __call__ returns the whole mapping at once.
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        if not self.path.is_file():
            if self.explicit:
                raise ConfigurationError(
                    f"MNEMOS_CONFIG points at {self.path}, which is not a file", path=str(self.path)
                )
            return {}
        try:
            data = tomllib.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigurationError(
                f"cannot read config file {self.path}: {exc}", path=str(self.path)
            ) from exc
        table = data.get("mnemos", data)
        if not isinstance(table, dict):
            raise ConfigurationError(f"[mnemos] in {self.path} must be a table")
        return dict(table)


class Settings(BaseSettings):
    """Everything that configures a Memory.

    Every field can be set as a keyword argument, as ``MNEMOS_<FIELD>`` in the environment,
    or in the config file.
    """

    model_config = SettingsConfigDict(
        env_prefix="MNEMOS_", frozen=True, extra="forbid", validate_default=True
    )

    path: Path | None = Field(
        default=None,
        description="The store file. Default: mnemos.db under data_dir.",
    )
    data_dir: Path = Field(
        default_factory=lambda: platformdirs.user_data_path("mnemos"),
        description="Directory for the default store and caches.",
    )
    embedder: str = Field(
        default="minilm-static",
        description=(
            "Registered embedder name: 'minilm-static' (default: distilled locally from the "
            "bundled all-MiniLM-L6-v2), 'minilm' (the transformer), or 'hash' (tests)."
        ),
    )
    tenant: str = Field(default="default", description="Tenant every operation is bound to.")
    embed_batch_size: int = Field(default=64, ge=1, le=4096, description="Texts per encode.")
    max_text_chars: int = Field(
        default=1_000_000, ge=1, description="Largest accepted message text, in characters."
    )
    busy_timeout_s: float = Field(
        default=30.0, gt=0, description="How long a write waits for another writer."
    )
    rrf_k: int = Field(default=20, ge=1, description="Reciprocal-rank-fusion constant.")
    derive_batch: int = Field(
        default=64,
        ge=1,
        le=4096,
        description="Messages stored by add(wait=False) that are derived together.",
    )

    @field_validator("tenant")
    @classmethod
    def _tenant_non_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("tenant must be a non-empty string")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, _TomlSource(settings_cls)

    @classmethod
    def load(cls, **overrides: Any) -> Settings:
        """Build settings from keyword arguments, environment and config file.

        Raises:
            ConfigurationError: a value is of the wrong type or out of range.
        """
        clean = {k: v for k, v in overrides.items() if v is not None}
        try:
            return cls(**clean)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}"
                for err in exc.errors()
            )
            raise ConfigurationError(f"invalid settings: {problems}") from None

    @property
    def store_path(self) -> Path:
        """The store file that will be opened."""
        return self.path if self.path is not None else self.data_dir / "mnemos.db"
