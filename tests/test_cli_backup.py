"""`mechamental backup` while serving and under writes, and `restore` refused while serving."""

from __future__ import annotations

import sqlite3
import subprocess
import threading
from pathlib import Path

import httpx

from tests.helpers import bearer
from tests.test_cli import free_port, run, server_dir, start_server, stop, wait_healthy

__all__ = ["server_dir", "stop"]  # fixtures shared with test_cli


def consistent_count(db_file: Path) -> int:
    """Workspaces in a database file, checked against the org's maintained count."""
    with sqlite3.connect(f"file:{db_file}?mode=ro", uri=True) as conn:
        (rows,) = conn.execute("SELECT count(*) FROM workspaces").fetchone()
        (kept,) = conn.execute("SELECT sum(workspace_count) FROM organizations").fetchone()
        assert rows == kept, (rows, kept)  # one snapshot: a transaction is all in or all out
        return int(rows)


def total(base: str, secret: str, q: str | None = None) -> int:
    """The org's workspace count (names containing `q`)."""
    params = {"q": q} if q else {}
    listed = httpx.get(base, params=params, headers=bearer(secret), timeout=10)
    assert listed.status_code == 200, listed.text
    value: int = listed.json()["total"]
    return value


def test_backup_while_serving_and_restore_only_when_stopped(
    server_dir: Path, stop: list[subprocess.Popen[str]], tmp_path: Path
) -> None:
    port = free_port()
    proc = start_server(server_dir, port)
    stop.append(proc)
    wait_healthy(proc, port)
    secret = (server_dir / "owner-token").read_text().strip()
    org_id = run(server_dir, "orgs", "list").stdout.split("\t")[0]
    base = f"http://127.0.0.1:{port}/v1/orgs/{org_id}/workspaces"

    def create(name: str) -> None:
        made = httpx.post(base, json={"name": name}, headers=bearer(secret), timeout=10)
        assert made.status_code == 201, made.text

    create("kept")
    # Writes keep coming while the backup runs: the copy is one consistent snapshot.
    writing = threading.Event()
    errors: list[BaseException] = []

    def keep_writing() -> None:
        try:
            i = 0
            while not writing.is_set():
                create(f"during-{i}")
                i += 1
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    writer = threading.Thread(target=keep_writing)
    writer.start()
    backup_file = tmp_path / "backups" / "mm.db"
    backup_file.parent.mkdir()
    try:
        done = run(server_dir, "backup", str(backup_file))
    finally:
        writing.set()
        writer.join(30)
    assert not errors, errors
    assert "backed up" in done.stderr
    in_backup = consistent_count(backup_file)
    assert in_backup >= 1
    create("after-the-backup")

    refused = run(server_dir, "restore", str(backup_file), ok=False)
    assert refused.returncode == 1
    assert "stop it first" in refused.stderr
    assert total(base, secret, "after-the-backup") == 1  # nothing was touched

    proc.terminate()
    proc.wait(timeout=30)
    restored = run(server_dir, "restore", str(backup_file))
    assert "restored" in restored.stderr
    assert consistent_count(server_dir / "mechamental.db") == in_backup

    port = free_port()
    again = start_server(server_dir, port)
    stop.append(again)
    wait_healthy(again, port)
    base = f"http://127.0.0.1:{port}/v1/orgs/{org_id}/workspaces"
    assert total(base, secret, "kept") == 1
    assert total(base, secret, "after-the-backup") == 0
    assert total(base, secret) == in_backup


def test_restore_refuses_a_file_that_is_not_a_backup(server_dir: Path, tmp_path: Path) -> None:
    run(server_dir, "migrate")
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database" * 100)
    refused = run(server_dir, "restore", str(junk), ok=False)
    assert refused.returncode == 1 and "restore refused" in refused.stderr
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    refused = run(server_dir, "restore", str(empty), ok=False)
    assert refused.returncode == 1 and "not a MechaMental database" in refused.stderr
