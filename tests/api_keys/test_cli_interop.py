"""The CLI and the HTTP API manage the same keys: each sees what the other made or revoked."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx

from tests.api_keys.helpers import create_key, keys_url, listed_ids
from tests.conftest import Tenant
from tests.helpers import assert_401, bearer

BIN = Path(sys.executable).parent / "mechamental"


def cli(database_url: str, data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real `mechamental` command on the test's database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MECHAMENTAL_")}
    env.update(
        MECHAMENTAL_DATABASE_URL=database_url,
        MECHAMENTAL_DATA_DIR=str(data_dir),
        MECHAMENTAL_LOG_LEVEL="WARNING",
    )
    result = subprocess.run(
        [str(BIN), *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, (args, result.stdout, result.stderr)
    return result


async def test_cli_keys_appear_over_http_and_the_reverse(
    client: httpx.AsyncClient, tenant: Tenant, database_url: str, tmp_path: Path
) -> None:
    made = cli(
        database_url, tmp_path, "tokens", "create", "--org", tenant.org_id,
        "--user", "deploy-bot", "--role", "member", "--name", "from the shell",
    )  # fmt: skip
    secret = made.stdout.strip()
    match = re.search(r"token id (\S+)", made.stderr)
    assert match, made.stderr
    cli_id = match[1]
    shown = await client.get(keys_url(tenant, cli_id), headers=tenant.headers("admin"))
    assert shown.status_code == 200, shown.text
    assert {k: shown.json()[k] for k in ("name", "role", "user_id")} == {
        "name": "from the shell",
        "role": "member",
        "user_id": "deploy-bot",
    }
    assert secret not in shown.text
    assert cli_id in await listed_ids(client, tenant)

    # Made over HTTP, listed by the CLI; revoked over HTTP, shown revoked by the CLI.
    http_key = await create_key(client, tenant, name="from http", role="viewer")
    rows = cli(database_url, tmp_path, "tokens", "list", "--org", tenant.org_id).stdout
    line = next(r for r in rows.splitlines() if r.startswith(http_key["id"]))
    assert line.split("\t")[1:4] == [tenant.users["owner"], "viewer", "active"]
    assert line.endswith("\tfrom http") and http_key["secret"] not in rows
    gone = await client.delete(keys_url(tenant, http_key["id"]), headers=tenant.headers())
    assert gone.status_code == 204
    rows = cli(database_url, tmp_path, "tokens", "list", "--org", tenant.org_id).stdout
    assert next(r for r in rows.splitlines() if r.startswith(http_key["id"])).split("\t")[3] == (
        "revoked"
    )

    # Revoked by the CLI: gone from the HTTP list, and no longer a credential.
    assert (await client.get(tenant.base, headers=bearer(secret))).status_code == 200
    cli(database_url, tmp_path, "tokens", "revoke", cli_id, "--org", tenant.org_id)
    assert cli_id not in await listed_ids(client, tenant)
    assert_401(await client.get(tenant.base, headers=bearer(secret)))
