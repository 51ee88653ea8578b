"""`mechamental worker` and `mechamental buckets status|retry`."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import typer

from mechamental.buckets import admin
from mechamental.buckets.worker import BucketWorker
from mechamental.config import Settings, get_settings
from mechamental.db import Conn, Database, run_in_transaction
from mechamental.logging import component_logging, configure_logging
from mechamental.services import Component

buckets_app = typer.Typer(help="Workspace buckets.", no_args_is_help=True)
T = TypeVar("T")


def _in_transaction(settings: Settings, work: Callable[[Conn], Awaitable[T]]) -> T:
    return run_in_transaction(settings.database_url, work)


async def run_worker(
    settings: Settings,
    *,
    concurrency: int,
    others: Sequence[Callable[[Database], Component]] = (),
) -> None:
    """Run the bucket worker (and `others`, made for the same database) until SIGINT or
    SIGTERM."""
    db = Database(settings.database_url)
    workers = [
        BucketWorker(db=db, settings=settings, concurrency=concurrency),
        *(make(db) for make in others),
    ]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    started = []
    try:
        for worker in workers:
            with component_logging(worker.name):
                await worker.start()
            started.append(worker)
        await stop.wait()
    finally:
        for worker in reversed(started):
            with component_logging(worker.name):
                await worker.stop()
        await db.dispose()


def worker_main(concurrency: int, others: Sequence[Callable[[Database], Component]] = ()) -> None:
    """Run the workers in this process (uvloop where available)."""
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    try:
        import uvloop

        uvloop.run(run_worker(settings, concurrency=concurrency, others=others))
    except ImportError:  # pragma: no cover - uvloop is a dependency off Windows
        asyncio.run(run_worker(settings, concurrency=concurrency, others=others))


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
