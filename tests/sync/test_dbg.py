import pytest
from tests.sync.conftest import *  # noqa
from tests.sync.conftest import new_workspace, rename
from mechamental.sync import eventlog

@pytest.mark.parametrize("bus", ["embedded"], indirect=True)
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.sync_settings(event_retention_count=3, event_retention_seconds=60)
async def test_dbg(server, client, tenant):
    ws_id = await new_workspace(client, tenant)
    for i in range(8):
        await rename(client, tenant, ws_id, f"r{i}")
    hub = server.hub
    hub.clock.advance(61)
    print("pruned", await hub.prune())
    async with hub.db.reader() as conn:
        print("oldest", await eventlog.oldest_retained(conn, workspace_id=ws_id))
        print(await eventlog.read_events(conn, workspace_id=ws_id, after=0))
