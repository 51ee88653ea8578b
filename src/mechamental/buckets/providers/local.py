"""The embedded provider: one directory per bucket under `DATA_DIR/buckets/`.

Each bucket directory holds `.bucket.json` (region, tags, the properties an S3 bucket
would have) and an `objects/` tree. A directory whose metadata names another workspace,
or a non-empty directory without metadata, belongs to someone else.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

from mechamental.buckets.providers import (
    TAG_WORKSPACE,
    BucketSpec,
    Made,
    NameTaken,
    NotOurBucket,
    PermanentBucketError,
    Removed,
)
from mechamental.types import utcnow

METADATA = ".bucket.json"
OBJECTS = "objects"
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")


def _check_name(name: str) -> None:
    if not _NAME.fullmatch(name):
        raise PermanentBucketError(f"invalid bucket name {name!r}")


def read_metadata(path: Path) -> dict[str, Any] | None:
    """The metadata of the bucket directory `path`, or None if it has none."""
    try:
        data: dict[str, Any] = json.loads((path / METADATA).read_text())
    except FileNotFoundError:
        return None
    return data


def _foreign_content(path: Path) -> bool:
    """Whether a bucket directory without our metadata holds anything we did not put there."""
    ours = {OBJECTS, f"{METADATA}.tmp"}
    return any(p.name not in ours for p in path.iterdir()) or (
        (path / OBJECTS).is_dir() and any((path / OBJECTS).iterdir())
    )


def _write_metadata(path: Path, data: dict[str, Any]) -> None:
    tmp = path / f"{METADATA}.tmp"
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True))
    os.replace(tmp, path / METADATA)


class LocalProvider:
    """Buckets as directories; blocking file work runs in a thread."""

    name = "local"

    def __init__(self, root: Path) -> None:
        self.root = root

    def _ensure(self, spec: BucketSpec) -> Made:
        _check_name(spec.name)
        path = self.root / spec.name
        self.root.mkdir(parents=True, exist_ok=True)
        try:
            path.mkdir()
            made: Made = "created"
        except FileExistsError:
            made = "adopted"
        current = read_metadata(path)
        taken = NameTaken(f"bucket name {spec.name} is already taken by another owner")
        if current is None:
            if _foreign_content(path):
                raise taken
        else:
            if current.get("tags", {}).get(TAG_WORKSPACE) != spec.workspace_id:
                raise taken
            if current.get("region") != spec.region:
                raise PermanentBucketError(
                    f"bucket {spec.name} already exists in region {current.get('region')}"
                )
        (path / OBJECTS).mkdir(exist_ok=True)
        _write_metadata(
            path,
            {
                "name": spec.name,
                "region": spec.region,
                "tags": spec.tags,
                "public_access_block": {
                    "BlockPublicAcls": True,
                    "IgnorePublicAcls": True,
                    "BlockPublicPolicy": True,
                    "RestrictPublicBuckets": True,
                },
                "encryption": "AES256",
                "created_at": (current or {}).get("created_at") or utcnow().isoformat(),
            },
        )
        return made

    def _delete(self, name: str, workspace_id: str) -> Removed:
        _check_name(name)
        path = self.root / name
        if not path.exists():
            return "absent"
        current = read_metadata(path)
        if current is None and _foreign_content(path):
            raise NotOurBucket(f"bucket {name} has no metadata of ours; left in place")
        owner = (current or {}).get("tags", {}).get(TAG_WORKSPACE)
        if current is not None and owner != workspace_id:
            raise NotOurBucket(f"bucket {name} is not tagged for workspace {workspace_id}")
        # Rename first so a half-deleted bucket never looks like a live one.
        doomed = self.root / f".deleting-{name}"
        if doomed.exists():
            shutil.rmtree(doomed)
        os.replace(path, doomed)
        shutil.rmtree(doomed)
        return "removed"

    def _list(self, prefix: str) -> list[str]:
        if not self.root.exists():
            return []
        return sorted(
            p.name
            for p in self.root.iterdir()
            if p.is_dir() and p.name.startswith(prefix) and not p.name.startswith(".")
        )

    async def ensure_bucket(self, spec: BucketSpec) -> Made:
        """Make the bucket directory and its metadata (idempotent)."""
        return await asyncio.to_thread(self._ensure, spec)

    async def delete_bucket(self, *, name: str, region: str, workspace_id: str) -> Removed:
        """Remove the bucket directory and everything in it; absent is fine."""
        return await asyncio.to_thread(self._delete, name, workspace_id)

    async def list_buckets(self, *, prefix: str) -> list[str]:
        """Bucket directories whose name starts with `prefix`."""
        return await asyncio.to_thread(self._list, prefix)

    async def close(self) -> None:
        """Nothing to release."""
