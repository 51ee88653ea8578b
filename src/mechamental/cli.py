"""The `mechamental` command: serve, migrate, back up and restore, manage orgs and tokens."""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import sqlite3
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from sqlalchemy import select

from mechamental import embedded
from mechamental.auth import tokens
from mechamental.auth.models import organizations
from mechamental.auth.permissions import Role
from mechamental.buckets.cli import buckets_app, worker_main
from mechamental.buckets.worker import DEFAULT_CONCURRENCY
from mechamental.config import Settings, get_settings
from mechamental.db import Conn, Database, run_in_transaction, sqlite_path
from mechamental.logging import configure_logging
from mechamental.migrations import upgrade
from mechamental.services import Component

app = typer.Typer(help="MechaMental workspace service.", no_args_is_help=True)
orgs_app = typer.Typer(help="Organizations.", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens.", no_args_is_help=True)
app.add_typer(orgs_app, name="orgs")
app.add_typer(tokens_app, name="tokens")
app.add_typer(buckets_app, name="buckets")


@app.command("worker")
def worker(
    concurrency: Annotated[
        int, typer.Option(min=1, help="Bucket jobs run at once by this process")
    ] = DEFAULT_CONCURRENCY,
) -> None:
    """Run the bucket and webhook workers alone (for API processes with RUN_WORKER=false)."""
    from mechamental.clock import Clock
    from mechamental.exposition import MetricsComponent
    from mechamental.sealing import SecretBox
    from mechamental.webhooks.signing import SEAL_LABEL
    from mechamental.webhooks.worker import WebhookWorker

    settings = get_settings()

    def webhooks(db: Database) -> Component:
        box = SecretBox(settings.resolved_secret_key(), label=SEAL_LABEL)
        return WebhookWorker(db=db, settings=settings, clock=Clock(), box=box)

    def metrics_port(db: Database) -> Component:
        return MetricsComponent(db=db, settings=settings, extras={})

    others = [webhooks]
    if settings.metrics_port is not None:  # a target of its own (exposition)
        others.insert(0, metrics_port)
    elif settings.metrics_token is not None:
        typer.echo("worker: metrics are served on METRICS_PORT only (no HTTP API here)", err=True)
    worker_main(concurrency, others)


T = TypeVar("T")
OWNER_TOKEN_FILE = "owner-token"


def _in_transaction(settings: Settings, work: Callable[[Conn], Awaitable[T]]) -> T:
    return run_in_transaction(settings, work)


def parse_duration(text: str) -> timedelta:
    """'90s', '15m', '12h', '30d' or '2w' as a timedelta."""
    match = re.fullmatch(r"\s*(\d+)\s*([smhdw])\s*", text)
    if not match:
        raise typer.BadParameter("use a number and a unit: 90s, 15m, 12h, 30d, 2w")
    unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}[match[2]]
    return timedelta(**{unit: int(match[1])})


@app.command()
def migrate() -> None:
    """Apply database migrations."""
    upgrade(get_settings().database_url)
    typer.echo("database is up to date", err=True)


def bootstrap(settings: Settings, host: str = "127.0.0.1", port: int = 8000) -> None:
    """On an empty embedded database: make an org and an owner token, say how to use them."""

    async def work(conn: Conn) -> tuple[str, str] | None:
        if (await conn.execute(select(organizations.c.id).limit(1))).first() is not None:
            return None
        org_id = await tokens.create_org(conn, name="default")
        issued = await tokens.create_token(conn, org_id=org_id, user_id="owner", role=Role.OWNER)
        return org_id, issued.secret

    created = _in_transaction(settings, work)
    if created is None:
        return
    org_id, secret = created
    path = settings.data_dir / OWNER_TOKEN_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(secret + "\n")
    typer.echo(f"Created organization {org_id}")
    typer.echo(f"Owner token written to {path} (mode 0600)")
    typer.echo(
        f'Try: curl -H "Authorization: Bearer $(cat {shlex.quote(str(path))})" '
        f"http://{_url_host(host)}:{port}/v1/orgs/{org_id}/workspaces"
    )
    if settings.ui_enabled:
        # In the fragment: a browser never sends it, so it reaches no server log.
        typer.echo(f"Dashboard: http://{_url_host(host)}:{port}/ui#token={secret}")


def _url_host(host: str) -> str:
    """The host to put in a URL for a server bound to `host`."""
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes")] = 1,
    migrate_first: Annotated[bool, typer.Option("--migrate/--no-migrate")] = True,
) -> None:
    """Run the API server (uvicorn, uvloop, httptools)."""
    import uvicorn

    from mechamental.exposition import multiprocess_dir

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    if migrate_first:
        upgrade(settings.database_url)
    if settings.is_sqlite:
        bootstrap(settings, host, port)
    with multiprocess_dir(settings, workers):  # metrics of every worker, added up
        _run_uvicorn(uvicorn, settings, host, port, workers)


def _run_uvicorn(uvicorn: Any, settings: Settings, host: str, port: int, workers: int) -> None:
    uvicorn.run(
        "mechamental.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        # httptools, extended so event streams write straight to their transports.
        http="mechamental.sync.fanout.protocol:SyncHttpToolsProtocol",
        access_log=False,
        log_config=None,
        timeout_graceful_shutdown=int(settings.shutdown_grace_seconds) + 1,
        timeout_keep_alive=settings.keepalive_timeout_seconds,  # idle kept-alive connections
        backlog=settings.listen_backlog,
    )


def _embedded_file(settings: Settings) -> Path:
    path = sqlite_path(settings.database_url) if settings.is_sqlite else None
    if path is None:
        typer.echo(
            "backup and restore are for the embedded SQLite database; "
            "for PostgreSQL use pg_dump and pg_restore",
            err=True,
        )
        raise typer.Exit(2)
    return path


@app.command()
def backup(
    path: Annotated[Path, typer.Argument(help="File to write (replaced atomically)")],
) -> None:
    """Copy the embedded database to PATH (online: safe while the server runs)."""
    source = _embedded_file(get_settings())
    try:
        embedded.backup(source, path)
    except (OSError, sqlite3.Error, ValueError) as exc:
        typer.echo(f"backup failed: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"backed up {source} to {path}", err=True)


@app.command()
def restore(path: Annotated[Path, typer.Argument(help="A file made by `backup`")]) -> None:
    """Replace the embedded database with PATH; refuses while a server has it open."""
    target = _embedded_file(get_settings())
    try:
        embedded.restore(path, target)
    except (embedded.DatabaseInUse, OSError, sqlite3.Error, ValueError) as exc:
        typer.echo(f"restore refused: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"restored {target} from {path}", err=True)


@orgs_app.command("create")
def orgs_create(
    name: str, org_id: Annotated[str | None, typer.Option("--id", help="Choose the id")] = None
) -> None:
    """Create an organization; prints its id."""
    typer.echo(
        _in_transaction(get_settings(), lambda c: tokens.create_org(c, name=name, org_id=org_id))
    )


@orgs_app.command("list")
def orgs_list() -> None:
    """List organizations (id, workspaces, name)."""
    for org in _in_transaction(get_settings(), tokens.list_orgs):
        typer.echo(f"{org['id']}\t{org['workspace_count']}\t{org['name']}")


@tokens_app.command("create")
def tokens_create(
    org: Annotated[str, typer.Option(help="Organization id")],
    user: Annotated[str, typer.Option(help="User id the token acts as")],
    role: Annotated[Role, typer.Option(help="owner, admin, member or viewer")],
    expires_in: Annotated[str | None, typer.Option(help="e.g. 30d, 12h")] = None,
    name: Annotated[str, typer.Option(help="A label, as the HTTP API shows it")] = "",
) -> None:
    """Issue a token; prints the secret once, alone on stdout."""
    ttl = parse_duration(expires_in) if expires_in else None

    async def work(conn: Conn) -> tokens.IssuedToken:
        exists = (
            await conn.execute(select(organizations.c.id).where(organizations.c.id == org))
        ).first()
        if exists is None:
            raise typer.BadParameter(f"no organization {org}", param_hint="--org")
        return await tokens.create_token(
            conn, org_id=org, user_id=user, role=role, expires_in=ttl, name=name
        )

    issued = _in_transaction(get_settings(), work)
    typer.echo(f"token id {issued.id}", err=True)
    typer.echo(issued.secret)


@tokens_app.command("list")
def tokens_list(org: Annotated[str, typer.Option(help="Organization id")]) -> None:
    """List an org's tokens, newest first (never their secrets), revoked ones included."""
    rows = _in_transaction(get_settings(), lambda c: tokens.list_tokens(c, org_id=org))
    for t in rows:
        state = "revoked" if t["revoked_at"] else "active"
        expires = t["expires_at"].isoformat() if t["expires_at"] else "never"
        used = t["last_used_at"].isoformat() if t["last_used_at"] else "never"
        typer.echo(
            f"{t['id']}\t{t['user_id']}\t{t['role']}\t{state}\texpires={expires}"
            f"\tlast_used={used}\t{t['name']}"
        )


@tokens_app.command("revoke")
def tokens_revoke(
    token_id: str,
    org: Annotated[str | None, typer.Option(help="Only if the token is this org's")] = None,
) -> None:
    """Revoke a token by id (of any org: the operator holds the whole database)."""
    revoked = _in_transaction(
        get_settings(), lambda c: tokens.revoke_token(c, org_id=org, token_id=token_id)
    )
    if not revoked:
        typer.echo(f"no active token {token_id}", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {token_id}", err=True)


def main() -> None:
    """Entry point."""
    app()


if __name__ == "__main__":
    main()


@app.command("watch")
def watch_command(
    workspace_id: Annotated[str, typer.Argument(help="The workspace to tail")],
    org: Annotated[str, typer.Option(envvar="MECHAMENTAL_ORG", help="Its org")],
    token: Annotated[str, typer.Option(envvar="MECHAMENTAL_TOKEN", help="An API key")],
    url: Annotated[str, typer.Option(help="The service")] = "http://127.0.0.1:8000",
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line")] = False,
) -> None:
    """Tail a workspace's events and presence, resuming across drops."""
    from mechamental.watch import watch

    with contextlib.suppress(KeyboardInterrupt):
        watch(url=url, org_id=org, workspace_id=workspace_id, token=token, as_json=as_json)
