"""`mechamental worker` and `mechamental buckets status|retry`."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer

from mechamental.buckets import admin
from mechamental.buckets.worker import DEFAULT_CONCURRENCY, BucketWorker
from mechamental.config import Settings, get_settings
from mechamental.db import Conn, Database, run_in_transaction
from mechamental.logging import component_logging, configure_logging

buckets_app = typer.Typer(help="Workspace buckets.", no_args_is_help=True)
T = TypeVar("T")


def _in_transaction(settings: Settings, work: Callable[[Conn], Awaitable[T]]) -> T:
    return run_in_transaction(settings.database_url, work)


async def run_worker(settings: Settings, *, concurrency: int) -> None:
    """Run the bucket worker until SIGINT or SIGTERM."""
    db = Database(settings.database_url)
    worker = BucketWorker(db=db, settings=settings, concurrency=concurrency)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    with component_logging(worker.name):
        await worker.start()
    try:
        await stop.wait()
    finally:
        with component_logging(worker.name):
            await worker.stop()
        await db.dispose()


def worker_command(
    concurrency: Annotated[
        int, typer.Option(min=1, help="Jobs run at once by this process")
    ] = DEFAULT_CONCURRENCY,
) -> None:
    """Run the bucket worker alone (for API processes started with RUN_WORKER=false)."""
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    try:
        import uvloop

        uvloop.run(run_worker(settings, concurrency=concurrency))
    except ImportError:  # pragma: no cover - uvloop is a dependency off Windows
        asyncio.run(run_worker(settings, concurrency=concurrency))


@buckets_app.command("status")
def status() -> None:
    """List buckets that are not active (and removals still pending or failed)."""
    reports = _in_transaction(get_settings(), admin.not_active)
    typer.echo("workspace_id\torg_id\tbucket\tstatus\tattempts\tnext_attempt_at\towner\terror")
    for r in reports:
        when = r.next_attempt_at.isoformat() if r.next_attempt_at else "-"
        typer.echo(
            f"{r.workspace_id}\t{r.org_id}\t{r.bucket}\t{r.status}\t{r.attempts}\t{when}\t"
            f"{r.lease_owner or '-'}\t{r.error or '-'}"
        )
    typer.echo(f"{len(reports)} bucket(s) not active", err=True)


@buckets_app.command("retry")
def retry(workspace_id: str) -> None:
    """Retry a workspace's bucket work now (provisioning, or removal once deleted)."""
    try:
        message = _in_transaction(
            get_settings(), lambda c: admin.retry(c, workspace_id=workspace_id)
        )
    except LookupError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
    typer.echo(message)
