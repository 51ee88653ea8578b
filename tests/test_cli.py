"""The real `mechamental` command, run as a subprocess on an embedded SQLite data directory."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import Tenant, make_settings
from tests.helpers import assert_401, assert_workspace, bearer, running_app
from tests.ports import free_port

BIN = Path(sys.executable).parent / "mechamental"
TOKEN = re.compile(r"^mm_[A-Za-z0-9_-]{20,}$")


def cli_env(data_dir: Path) -> dict[str, str]:
    """The caller's environment without any MECHAMENTAL_ setting, on `data_dir`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MECHAMENTAL_")}
    env.update(MECHAMENTAL_DATA_DIR=str(data_dir), MECHAMENTAL_LOG_LEVEL="WARNING",
               PYTHONUNBUFFERED="1")  # fmt: skip
    return env


def run(data_dir: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [str(BIN), *args],
        env=cli_env(data_dir),
        cwd=data_dir.parent,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if ok:
        assert result.returncode == 0, (args, result.stdout, result.stderr)
    return result


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated embedded database for this module (tests use their own orgs)."""
    path = tmp_path_factory.mktemp("cli") / "data"
    result = run(path, "migrate")
    assert "up to date" in result.stderr
    assert (path / "mechamental.db").is_file()
    return path


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / 'mechamental.db'}"


def test_orgs_create_and_list(data_dir: Path) -> None:
    chosen = run(data_dir, "orgs", "create", "Acme Corp", "--id", "acme-cli")
    assert chosen.stdout == "acme-cli\n"
    generated = run(data_dir, "orgs", "create", "Generated").stdout.strip()
    assert generated and "\n" not in generated and generated != "acme-cli"
    duplicate = run(data_dir, "orgs", "create", "Again", "--id", "acme-cli", ok=False)
    assert duplicate.returncode != 0 and duplicate.stdout == ""
    listed = run(data_dir, "orgs", "list").stdout.splitlines()
    assert "acme-cli\t0\tAcme Corp" in listed
    assert f"{generated}\t0\tGenerated" in listed
    assert sum(row.startswith("acme-cli\t") for row in listed) == 1


def test_token_lifecycle_against_the_api(data_dir: Path) -> None:
    org = run(data_dir, "orgs", "create", "Tokens Inc").stdout.strip()
    created = run(data_dir, "tokens", "create", "--org", org, "--user", "alice", "--role", "admin")
    secret = created.stdout.strip()
    assert created.stdout == secret + "\n"  # the secret, alone on stdout
    assert TOKEN.match(secret)
    token_id = re.search(r"token id (\S+)", created.stderr)
    assert token_id, created.stderr
    listed = run(data_dir, "tokens", "list", "--org", org).stdout
    line = next(row for row in listed.splitlines() if row.startswith(token_id[1]))
    assert line.split("\t")[1:5] == ["alice", "admin", "active", "expires=never"]
    assert secret not in listed

    tenant = Tenant(org_id=org)

    async def use(expect_ok: bool) -> None:
        settings = make_settings(sqlite_url(data_dir), data_dir)
        async with running_app(settings) as (_, client):
            if expect_ok:
                made = await client.post(tenant.base, json={"name": "cli"}, headers=bearer(secret))
                assert made.status_code == 201, made.text
                assert_workspace(made.json())
                assert made.json()["owner_id"] == "alice"
                page = await client.get(tenant.base, headers=bearer(secret))
                assert page.status_code == 200 and page.json()["total"] == 1
            else:
                assert_401(await client.get(tenant.base, headers=bearer(secret)))

    asyncio.run(use(expect_ok=True))

    revoked = run(data_dir, "tokens", "revoke", token_id[1])
    assert revoked.stdout == ""
    row = next(r for r in run(data_dir, "tokens", "list", "--org", org).stdout.splitlines()
               if r.startswith(token_id[1]))  # fmt: skip
    assert row.split("\t")[3] == "revoked"
    asyncio.run(use(expect_ok=False))
    again = run(data_dir, "tokens", "revoke", token_id[1], ok=False)
    assert again.returncode == 1


def test_token_expiry_and_roles(data_dir: Path) -> None:
    org = run(data_dir, "orgs", "create", "Expiring").stdout.strip()
    timed = run(data_dir, "tokens", "create", "--org", org, "--user", "bob", "--role", "viewer",
                "--expires-in", "2s")  # fmt: skip
    expires = time.monotonic() + 2
    secret = timed.stdout.strip()
    assert TOKEN.match(secret)
    listed = run(data_dir, "tokens", "list", "--org", org).stdout
    assert "\tbob\tviewer\tactive\texpires=20" in listed  # an ISO date, not "never"
    for bad in (
        ["--org", "no-such-org", "--user", "u", "--role", "owner"],
        ["--org", org, "--user", "u", "--role", "superuser"],
        ["--org", org, "--user", "u", "--role", "owner", "--expires-in", "soon"],
    ):
        result = run(data_dir, "tokens", "create", *bad, ok=False)
        assert result.returncode != 0, bad
        assert result.stdout == "", bad
    time.sleep(max(0.0, expires + 0.2 - time.monotonic()))

    async def check() -> None:
        settings = make_settings(sqlite_url(data_dir), data_dir)
        async with running_app(settings) as (_, client):
            assert_401(await client.get(f"/v1/orgs/{org}/workspaces", headers=bearer(secret)))

    asyncio.run(check())


@pytest.fixture
def server_dir(tmp_path: Path) -> Path:
    return tmp_path / "fresh" / "data"  # does not exist yet


def start_server(data_dir: Path, port: int) -> subprocess.Popen[str]:
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [str(BIN), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=cli_env(data_dir),
        cwd=data_dir.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_healthy(proc: subprocess.Popen[str], port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("server did not become healthy")


@pytest.fixture
def stop() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_serve_bootstraps_an_empty_database(
    server_dir: Path, stop: list[subprocess.Popen[str]]
) -> None:
    port = free_port()
    proc = start_server(server_dir, port)
    stop.append(proc)
    wait_healthy(proc, port)
    assert proc.stdout is not None
    lines = [proc.stdout.readline().rstrip("\n") for _ in range(4)]
    org = re.search(r"organization (\S+)", lines[0])
    assert org, lines
    token_file = server_dir / "owner-token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    secret = token_file.read_text().strip()
    assert TOKEN.match(secret)
    assert str(token_file) in lines[1] or "owner-token" in lines[1]
    # The token is printed once, in the sign-in link's fragment (which no browser sends).
    assert secret not in "\n".join(lines[:3])
    assert lines[3] == f"Dashboard: http://127.0.0.1:{port}/ui#token={secret}"
    curl = lines[2][lines[2].index("curl") :]
    assert f":{port}/v1/orgs/{org[1]}/workspaces" in curl

    base = f"http://127.0.0.1:{port}/v1/orgs/{org[1]}/workspaces"
    made = httpx.post(base, json={"name": "served"}, headers=bearer(secret), timeout=10)
    assert made.status_code == 201, made.text
    assert_workspace(made.json())
    assert httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).json()["database"] == "sqlite"
    # The printed line works as pasted.
    pasted = subprocess.run(
        ["bash", "-c", curl + " --silent --show-error --max-time 10"],
        cwd=server_dir.parent,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert pasted.returncode == 0, pasted.stderr
    assert '"total":1' in pasted.stdout.replace(" ", "")
    assert httpx.get(base, timeout=5).status_code == 401

    proc.send_signal(signal.SIGTERM)
    # uvicorn shuts down gracefully, then re-raises the signal it caught.
    assert proc.wait(timeout=20) in (0, -signal.SIGTERM)
    _, stderr = proc.communicate()
    assert secret not in stderr and "Traceback" not in stderr


def test_serve_does_not_bootstrap_a_database_with_orgs(
    server_dir: Path, stop: list[subprocess.Popen[str]]
) -> None:
    run(server_dir, "migrate")
    run(server_dir, "orgs", "create", "Existing", "--id", "existing-org")
    port = free_port()
    proc = start_server(server_dir, port)
    stop.append(proc)
    wait_healthy(proc, port)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=20)
    stdout, _ = proc.communicate()
    assert "curl" not in stdout and "Created organization" not in stdout
    assert not (server_dir / "owner-token").exists()
    assert run(server_dir, "orgs", "list").stdout.splitlines() == ["existing-org\t0\tExisting"]
