"""``mnemos serve`` (REST API and dashboard) and ``mnemos mcp`` (MCP server)."""

from __future__ import annotations

import logging
import sys
from typing import Any

import click

from mnemos.cli import AppContext, pass_app

__all__ = ["mcp", "serve"]

_LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def _configure_logging(level: str) -> None:
    """Log to stderr, every line carrying the id of the request it belongs to."""
    from mnemos.server.middleware import RequestIdLogFilter

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(_LOG_FORMAT))
    handler.addFilter(RequestIdLogFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


def _warm_up(memory: Any, log: logging.Logger) -> None:
    """Load the embedding model and the word tables before the first request has to wait
    for them (the default static model is distilled on its very first use, which takes
    about a minute)."""
    log.info("loading the embedder %s", memory.settings.embedder)
    seconds = memory.warm_up()
    memory.search("warm up", user_id="mnemos-warm-up")
    log.info("ready after a %.1f s warm-up", seconds)


def _loopback_only(host: str) -> None:
    from mnemos.server.auth import is_loopback

    if not is_loopback(host):
        raise click.UsageError(
            f"--local runs without API keys and binds only to 127.0.0.1, not {host}; "
            "create a key with `mnemos keys create` to serve other machines"
        )


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8765, show_default=True, type=int, help="Port to bind.")
@click.option(
    "--local",
    is_flag=True,
    help="Run without API keys: only this machine is served (binds 127.0.0.1 only).",
)
@click.option(
    "--max-body-bytes",
    default=2 * 1024 * 1024,
    show_default=True,
    type=click.IntRange(min=1024),
    help="Largest request body accepted (larger ones get a 413).",
)
@click.option("--no-ui", is_flag=True, help="Serve the API only, without the dashboard.")
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(["debug", "info", "warning", "error"]),
)
@pass_app
def serve(
    app: AppContext,
    host: str,
    port: int,
    local: bool,
    max_body_bytes: int,
    no_ui: bool,
    log_level: str,
) -> None:
    """Serve the REST API (/v1, OpenAPI at /docs) and the dashboard (/ui).

    Every request needs an API key (`mnemos keys create`) and is confined to the key's
    tenant and user scopes. `--local` serves without keys, to this machine only.

    \b
    Example:
      mnemos serve --port 8765
      mnemos serve --local          # no keys; http://127.0.0.1:8765/ui
    """
    from mnemos.server import create_app, require_server_extra

    require_server_extra()
    import uvicorn

    if local:
        _loopback_only(host)
    _configure_logging(log_level)
    log = logging.getLogger("mnemos.server")
    memory = app.memory()
    if not local and not memory.keys.list(tenant=None):
        log.warning("no API keys yet: create one with `mnemos keys create`, or use --local")
    _warm_up(memory, log)
    asgi = create_app(
        memory,
        auth="local" if local else "keys",
        max_body_bytes=max_body_bytes,
        dashboard=not no_ui,
    )
    log.info(
        "serving %s on http://%s:%d (%s)",
        memory.settings.store_path,
        host,
        port,
        "local mode, no keys" if local else "API keys required",
    )
    uvicorn.run(asgi, host=host, port=port, log_config=None, access_log=False, lifespan="off")


@click.command()
@click.option(
    "--transport",
    default="stdio",
    show_default=True,
    type=click.Choice(["stdio", "http"]),
    help="stdio (an agent host starts this command) or streamable HTTP (at /mcp).",
)
@click.option("--user", "user_id", help="The one user scope the tools work in.")
@click.option("--agent", "agent_id", help="Agent scope kept with what is remembered.")
@click.option("--session", "session_id", help="Session scope kept with what is remembered.")
@click.option(
    "--key",
    envvar="MNEMOS_API_KEY",
    help="stdio: run as this API key (its tenant and scopes; env MNEMOS_API_KEY).",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="http: address to bind.")
@click.option("--port", default=8766, show_default=True, type=int, help="http: port to bind.")
@click.option("--local", is_flag=True, help="http: no API keys; serve this machine only.")
@pass_app
def mcp(
    app: AppContext,
    transport: str,
    user_id: str | None,
    agent_id: str | None,
    session_id: str | None,
    key: str | None,
    host: str,
    port: int,
    local: bool,
) -> None:
    """Serve memory tools to agents over MCP (remember, recall, get_context, forget,
    list_memories, history).

    The server is pinned to one user scope: --user, or the single user of its API key. The
    tools cannot name another scope. Over HTTP every request carries an API key (or, with
    --local, none, from this machine only).

    \b
    Example:
      mnemos mcp --user ana                                  # stdio, for a local agent host
      mnemos mcp --transport http --port 8766                # keys bound to one user each
      mnemos mcp --transport http --local --user ana
    """
    from mnemos.mcp_server import McpScope, ScopeResolver, build_server, http_app

    scope = McpScope(user_id=user_id, agent_id=agent_id, session_id=session_id)
    memory = app.memory()
    if transport == "stdio":
        if local:
            raise click.UsageError("--local applies to --transport http")
        server = build_server(ScopeResolver(memory, "config", scope, key))
        logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
        server.run("stdio")
        return
    if key:
        raise click.UsageError("over http each request carries its own key; drop --key")
    if local:
        _loopback_only(host)
    resolver = ScopeResolver(memory, "local" if local else "keys", scope)
    import uvicorn

    _configure_logging("info")
    _warm_up(memory, logging.getLogger("mnemos.server"))
    logging.getLogger("mnemos.server").info(
        "MCP over streamable HTTP at http://%s:%d/mcp (%s)",
        host,
        port,
        "local mode, no keys" if local else "API keys required",
    )
    uvicorn.run(
        http_app(build_server(resolver), resolver, host=host),
        host=host,
        port=port,
        log_config=None,
        access_log=False,
    )
