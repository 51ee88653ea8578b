// Two users, each in a browser context of their own (two credentials), on one workspace:
// each sees the other's presence (join, viewing) and changes live; then the server is
// killed and started again on the same port and data dir, and both resume exactly: the
// changes made right after the restart arrive, none twice, and presence comes back.
// Run by tests/ts_browser/test_ts_browser.py; exits non-zero on any failure.
import assert from "node:assert/strict";
import { MechaMental } from "../../clients/typescript/dist/index.js";
import { openTab, seenBy, until, withWorld } from "./harness.mjs";

await withWorld(async ({ api, browser, pageOrigin }) => {
  const owner = new MechaMental({ baseUrl: api.url, orgId: api.orgId, token: await api.key("owner", "owner") });
  const ws = await owner.workspaces.create({ name: "start" });
  const base = { api: api.url, org: api.orgId, workspace: ws.workspace_id };
  const options = { minRetryMs: 50, maxRetryMs: 500 };
  const alice = await openTab(await browser.newContext(), pageOrigin, { ...base, token: await api.key("alice"), options }, "alice");
  const bob = await openTab(
    await browser.newContext(),
    pageOrigin,
    { ...base, token: await api.key("bob"), options: { ...options, auth: "ticket" } },
    "bob",
  );
  const both = [alice, bob];
  for (const page of both) {
    await until(page, () => window.handle.status === "live", null, "live");
    await until(page, () => JSON.stringify(window.memberIds()) === '["alice","bob"]', null, "both present");
  }

  // Viewing: alice opens a document; bob sees it.
  await alice.evaluate(() => window.handle.view("document", "doc-1"));
  await until(
    bob,
    () => window.handle.members().find((m) => m.user_id === "alice")?.viewing?.resource_id === "doc-1",
    null,
    "bob sees alice viewing doc-1",
  );

  // Each one's change reaches the other, live.
  const rename = (page, name) =>
    page.evaluate((n) => window.client.workspaces.update(window.handle.workspaceId, { name: n }, { ifMatch: null }), name);
  await rename(alice, "by alice");
  await until(bob, () => window.handle.workspace?.name === "by alice", null, "bob sees alice's change");
  await rename(bob, "by bob");
  await until(alice, () => window.handle.workspace?.name === "by bob", null, "alice sees bob's change");

  // The server dies and comes back (same data dir, same port); changes follow at once.
  await api.restart("SIGKILL");
  for (let i = 1; i <= 5; i++) await owner.workspaces.update(ws.workspace_id, { name: `after-${i}` }, { ifMatch: null });
  const expected = ["by alice", "by bob", "after-1", "after-2", "after-3", "after-4", "after-5"];
  for (const page of both) {
    await until(page, (n) => window.names().length >= n && window.handle.status === "live", expected.length, "resumed");
  }
  await rename(bob, "live again");
  for (const page of both) {
    await until(page, () => window.names().at(-1) === "live again", null, "a live change after the resume");
    const seen = await seenBy(page);
    assert.deepEqual(seen.names, [...expected, "live again"], "every change once, in order");
    assert.equal(new Set(seen.ids).size, seen.ids.length, "no event twice");
    assert.ok(seen.statuses.includes("reconnecting"), JSON.stringify(seen.statuses));
    assert.equal(seen.connected.at(-1), true, "the last connect resumed");
    // Presence lived in the killed process: both announce themselves again.
    await until(page, () => JSON.stringify(window.memberIds()) === '["alice","bob"]', null, "both present again");
  }
  process.stdout.write(`${JSON.stringify({ users: 2, ok: true })}\n`);
});
