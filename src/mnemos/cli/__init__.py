"""The ``mnemos`` command line: a few lines per command, each calling one facade method.

Errors never reach the user as a traceback: mnemos errors print their message and exit 1,
usage errors exit 2, anything unexpected prints one line (set ``MNEMOS_DEBUG=1`` for the
traceback) and exits 70.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any

import click

from mnemos.errors import MnemosError

__all__ = ["cli", "main"]


class AppContext:
    """Global options, and the Memory opened from them on first use."""

    def __init__(self, store: str | None, embedder: str | None, tenant: str | None) -> None:
        self.store = store
        self.embedder = embedder
        self.tenant = tenant
        self._memory: Any = None

    def memory(self) -> Any:
        """The Memory for this invocation, opened once."""
        if self._memory is None:
            from mnemos.memory import Memory

            self._memory = Memory(self.store, embedder=self.embedder, tenant=self.tenant)
        return self._memory

    def close(self) -> None:
        """Close the Memory if one was opened."""
        if self._memory is not None:
            self._memory.close()
            self._memory = None


pass_app = click.make_pass_decorator(AppContext)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--store",
    envvar="MNEMOS_PATH",
    metavar="PATH",
    help="Store file (default: mnemos.db in the user data directory; env MNEMOS_PATH).",
)
@click.option("--embedder", envvar="MNEMOS_EMBEDDER", help="Embedder name (default: minilm).")
@click.option("--tenant", envvar="MNEMOS_TENANT", help="Tenant (default: default).")
@click.version_option(package_name="mnemos", prog_name="mnemos")
@click.pass_context
def cli(ctx: click.Context, store: str | None, embedder: str | None, tenant: str | None) -> None:
    """mnemos: local-first memory for LLM agents.

    \b
    Example:
      mnemos add --user ana "I moved to Lisbon in March"
      mnemos search --user ana "where does Ana live?"
    """
    app = AppContext(store, embedder, tenant)
    ctx.obj = app
    ctx.call_on_close(app.close)


def emit_json(value: Any) -> None:
    """Print a model, or a list / dict of models, as JSON."""
    from pydantic import BaseModel

    def plain(v: Any) -> Any:
        if isinstance(v, BaseModel):
            return v.model_dump(mode="json")
        if isinstance(v, list):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        return v

    click.echo(json.dumps(plain(value), ensure_ascii=False, indent=2))


def parse_json_option(value: str | None, name: str) -> Any:
    """Parse a JSON-valued option, with a clear usage error when it is not JSON."""
    if value is None:
        return None
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"not valid JSON ({exc.msg})", param_hint=name) from None


def _register() -> None:
    from mnemos.cli import commands, keys, serve

    commands.register(cli)
    for command in (keys.keys, serve.serve, serve.mcp):
        cli.add_command(command)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code."""
    _register()
    debug = os.environ.get("MNEMOS_DEBUG") == "1"
    try:
        code = cli.main(
            args=list(argv) if argv is not None else None,
            prog_name="mnemos",
            standalone_mode=False,
        )
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return 1
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except MnemosError as exc:
        click.secho(f"Error: {exc.message}", fg="red", err=True)
        return 1
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:
        if debug:
            raise
        click.secho(
            f"Internal error: {type(exc).__name__}: {exc} (set MNEMOS_DEBUG=1 for details)",
            fg="red",
            err=True,
        )
        return 70
    return code if isinstance(code, int) else 0
