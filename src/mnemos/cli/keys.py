"""``mnemos keys``: create, list and revoke API keys."""

from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table

from mnemos.cli import AppContext, emit_json, pass_app

__all__ = ["keys"]


@click.group()
def keys() -> None:
    """Manage API keys: each is bound to a tenant and, optionally, to some user scopes.

    A key can never read or write outside its tenant and user scopes. The secret is shown
    once, at creation; the store keeps only its hash.

    \b
    Example:
      mnemos keys create --user ana --name "support bot"
      mnemos keys list
      mnemos keys revoke 3f2a9c1e0d4b4c59
    """


@keys.command()
@click.option(
    "--user",
    "user_ids",
    multiple=True,
    help="A user scope the key may touch (repeatable; default: every user of the tenant).",
)
@click.option("--name", help="A label: which agent or service holds the key.")
@click.option("--json", "as_json", is_flag=True, help="Print the key and its token as JSON.")
@pass_app
def create(app: AppContext, user_ids: tuple[str, ...], name: str | None, as_json: bool) -> None:
    """Create a key bound to the tenant (global --tenant) and the given user scopes.

    \b
    Example:
      mnemos keys create --user ana --name "support bot"
      mnemos --tenant acme keys create --user ana --user bob
    """
    issued = app.memory().keys.create(user_ids=list(user_ids) or None, name=name)
    if as_json:
        emit_json(issued)
        return
    key = issued.key
    scopes = ", ".join(key.user_ids) if key.user_ids else "every user"
    click.echo(f"created key {key.id} for tenant {key.tenant!r} ({scopes})")
    click.echo("token (shown once; store it now, only its hash is kept):")
    click.echo(issued.token)


@keys.command(name="list")
@click.option("--all-tenants", is_flag=True, help="Keys of every tenant, not just --tenant's.")
@click.option("--revoked", is_flag=True, help="Include revoked keys.")
@click.option("--json", "as_json", is_flag=True, help="Print the keys as JSON.")
@pass_app
def list_(app: AppContext, all_tenants: bool, revoked: bool, as_json: bool) -> None:
    """List keys (never their secrets).

    \b
    Example:
      mnemos keys list --all-tenants --revoked
    """
    mem = app.memory()
    found = mem.keys.list(
        tenant=None if all_tenants else mem.settings.tenant, include_revoked=revoked
    )
    if as_json:
        emit_json(found)
        return
    table = Table(title=f"{len(found)} API keys")
    for column in ("id", "tenant", "users", "name", "created", "revoked"):
        table.add_column(column)
    for k in found:
        table.add_row(
            k.id,
            k.tenant,
            ", ".join(k.user_ids) if k.user_ids else "(all)",
            k.name or "",
            k.created_at.strftime("%Y-%m-%d %H:%M"),
            k.revoked_at.strftime("%Y-%m-%d %H:%M") if k.revoked_at else "",
        )
    Console(highlight=False).print(table)


@keys.command()
@click.argument("key_id")
@pass_app
def revoke(app: AppContext, key_id: str) -> None:
    """Revoke a key; requests made with it fail from the next one on.

    \b
    Example:
      mnemos keys revoke 3f2a9c1e0d4b4c59
    """
    key = app.memory().keys.revoke(key_id)
    click.echo(f"revoked key {key.id} (tenant {key.tenant!r})")
