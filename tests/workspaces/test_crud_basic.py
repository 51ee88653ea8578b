"""Create, read, update, delete round trip on both backends."""

import httpx

from tests.conftest import Tenant


async def test_round_trip(client: httpx.AsyncClient, tenant: Tenant) -> None:
    created = await client.post(tenant.base, json={"name": "Design"}, headers=tenant.headers())
    assert created.status_code == 201, created.text
    ws = created.json()
    assert ws["bucket_status"] == "pending" and ws["owner_id"] == "owner-user"
    url = f"{tenant.base}/{ws['workspace_id']}"
    got = await client.get(url, headers=tenant.headers("viewer"))
    assert got.json() == ws and got.headers["etag"]
    put = await client.put(url, json={"name": "Design 2"}, headers=tenant.headers("member"))
    assert put.status_code == 200 and put.json()["name"] == "Design 2"
    gone = await client.delete(url, headers=tenant.headers("admin"))
    assert gone.status_code == 200 and "message" in gone.json()
    assert (await client.get(url, headers=tenant.headers())).status_code == 404
