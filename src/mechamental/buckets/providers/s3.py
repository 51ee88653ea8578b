"""The S3 provider: AWS or any S3-compatible store (MinIO, Ceph), through boto3.

The calls run in a small pool of helper processes at a lower CPU priority, never on the
event loop: signing requests and parsing XML costs a few milliseconds of CPU per call,
which on the API's loop (or under its GIL) would slow every request while buckets are
being made. The pool is shared by the process and started on first use.
"""

from __future__ import annotations

import asyncio
import atexit
import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from mechamental.buckets.providers import BucketSpec, Made, Removed, s3_ops

POOL_SIZE = 4  # S3 calls in flight per server process
NICENESS = 10

_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()


def pool() -> ProcessPoolExecutor:
    """The process's S3 helper pool (started on first use, stopped at exit)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            # spawn, not fork: the API process has threads; and the helpers are its own
            # children, so they notice when it dies, however it dies.
            _pool = ProcessPoolExecutor(
                max_workers=POOL_SIZE,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=s3_ops.init_helper,
                initargs=(NICENESS, os.getpid()),
            )
            atexit.register(shutdown_pool)
        return _pool


def shutdown_pool() -> None:
    """Stop the helper processes (calls in flight are abandoned)."""
    global _pool
    with _pool_lock:
        if _pool is not None:
            _pool.shutdown(wait=False, cancel_futures=True)
            _pool = None


async def _run(fn: Any, *args: Any) -> Any:
    loop = asyncio.get_running_loop()
    try:
        return await loop.run_in_executor(pool(), fn, *args)
    except BrokenProcessPool:
        shutdown_pool()  # a helper died (OOM, killed): start afresh on the next call
        raise


class S3Provider:
    """Buckets on an S3-compatible endpoint (`None`: AWS itself)."""

    name = "s3"

    def __init__(self, *, endpoint_url: str | None) -> None:
        self.endpoint_url = endpoint_url

    async def ensure_bucket(self, spec: BucketSpec) -> Made:
        """Create (or adopt our own) bucket, then block public access, encrypt and tag it."""
        made: Made = await _run(s3_ops.ensure_bucket, self.endpoint_url, spec)
        return made

    async def delete_bucket(self, *, name: str, region: str, workspace_id: str) -> Removed:
        """Delete every object version and delete marker, then the bucket; absent is fine."""
        removed: Removed = await _run(
            s3_ops.delete_bucket, self.endpoint_url, name, region, workspace_id
        )
        return removed

    async def list_buckets(self, *, prefix: str) -> list[str]:
        """Our buckets whose name starts with `prefix`."""
        names: list[str] = await _run(s3_ops.list_buckets, self.endpoint_url, prefix)
        return names

    async def close(self) -> None:
        """Nothing per provider: the helper pool lives as long as the process."""
