// Ten tabs of one origin (one browser context) sync one workspace against an API on
// HTTP/1.1 on another origin. With a stream per tab, tabs 7+ would never get an event (six
// connections per host) and other requests would queue; with the shared stream: every tab
// gets every event in order exactly once, a plain call from the tenth tab completes, and
// closing the leading tab while updates go on loses nothing in the nine left.
// Run by tests/ts_browser/test_ts_browser.py; exits non-zero on any failure.
import assert from "node:assert/strict";
import { MechaMental } from "../../clients/typescript/dist/index.js";
import { noHang, openTab, seenBy, until, withWorld } from "./harness.mjs";

const TABS = 10;
const range = (from, to) => Array.from({ length: to - from + 1 }, (_, i) => `u-${from + i}`);

await withWorld(async ({ api, browser, pageOrigin }) => {
  const owner = new MechaMental({ baseUrl: api.url, orgId: api.orgId, token: await api.key("owner", "owner") });
  const ws = await owner.workspaces.create({ name: "u-0" });
  const config = {
    api: api.url,
    org: api.orgId,
    token: await api.key("tab-user"),
    workspace: ws.workspace_id,
    options: { auth: "ticket", minRetryMs: 50, maxRetryMs: 500 },
  };
  const context = await browser.newContext();
  const tabs = [];
  for (let i = 0; i < TABS; i++) tabs.push(await openTab(context, pageOrigin, config, `tab ${i + 1}`));
  for (const [i, tab] of tabs.entries()) {
    await until(tab, () => window.handle.status === "live", null, `tab ${i + 1} live`);
  }
  const leaders = (await Promise.all(tabs.map((t) => t.evaluate(() => window.handle.leading)))).filter(Boolean);
  assert.equal(leaders.length, 1, "one tab holds the stream");

  // One stream for the ten tabs: the server counts one connection of the one user.
  await until(tabs[0], () => window.memberIds().includes("tab-user"), null, "tab-user present");
  const presence = await owner.http.json("GET", owner.http.orgPath(`/workspaces/${ws.workspace_id}/sync/presence`));
  assert.deepEqual(presence.members.map((m) => [m.user_id, m.connections]), [["tab-user", 1]]);

  // Every other request still goes through: a plain read from the tenth tab completes.
  const read = await noHang(
    tabs[9].evaluate(async () => (await window.client.workspaces.get(window.handle.workspaceId)).name),
    "workspaces.get from the tenth tab",
  );
  assert.equal(read, "u-0");

  for (let i = 1; i <= 10; i++) await owner.workspaces.update(ws.workspace_id, { name: `u-${i}` }, { ifMatch: null });
  for (const [i, tab] of tabs.entries()) {
    await until(tab, () => window.names().length >= 10, null, `tab ${i + 1}: ten events`);
    const seen = await seenBy(tab);
    assert.deepEqual(seen.names, range(1, 10), `tab ${i + 1}: every event once, in order`);
    assert.equal(new Set(seen.ids).size, seen.ids.length, `tab ${i + 1}: no event twice`);
  }

  // The leader goes while updates go on; another tab takes the stream over.
  const leading = [];
  for (const tab of tabs) if (await tab.evaluate(() => window.handle.leading)) leading.push(tab);
  assert.equal(leading.length, 1);
  const rest = tabs.filter((t) => t !== leading[0]);
  const updates = (async () => {
    for (let i = 11; i <= 30; i++) await owner.workspaces.update(ws.workspace_id, { name: `u-${i}` }, { ifMatch: null });
  })();
  await until(rest[0], () => window.names().length >= 13, null, "updates under way");
  await leading[0].close({ runBeforeUnload: true });
  await noHang(updates, "the updates");
  for (const [i, tab] of rest.entries()) {
    await until(tab, () => window.names().length >= 30 && window.handle.status === "live", null, `remaining tab ${i + 1}: thirty events`);
  }
  const newLeaders = (await Promise.all(rest.map((t) => t.evaluate(() => window.handle.leading)))).filter(Boolean);
  assert.equal(newLeaders.length, 1, "one of the nine took the stream over");
  for (const [i, tab] of rest.entries()) {
    const seen = await seenBy(tab);
    assert.deepEqual(seen.names, range(1, 30), `remaining tab ${i + 1}: every event once, in order`);
    assert.equal(new Set(seen.ids).size, seen.ids.length, `remaining tab ${i + 1}: no event twice`);
    assert.deepEqual(seen.statuses, ["live", "reconnecting", "live"], `remaining tab ${i + 1}: failed over`);
  }
  // The user is still present (the closing tab did not leave: nine tabs keep presence).
  await until(rest[0], () => window.memberIds().includes("tab-user"), null, "tab-user still present");

  // Another user signs in in this profile: the group is per credential, so the new tab runs a
  // stream of its own as itself (never the first user's stream, presence or identity).
  const other = await openTab(context, pageOrigin, { ...config, token: await api.key("other-user") }, "other user");
  await until(other, () => window.handle.status === "live", null, "other user's tab live");
  assert.equal(await other.evaluate(() => window.handle.leading), true, "the other user's tab holds its own stream");
  assert.equal(await other.evaluate(() => window.handle.me), "other-user");
  assert.equal(await rest[0].evaluate(() => window.handle.me), "tab-user");
  await until(rest[0], () => window.memberIds().includes("other-user"), null, "tab-user's tabs see the other user");
  const both = await owner.http.json("GET", owner.http.orgPath(`/workspaces/${ws.workspace_id}/sync/presence`));
  assert.deepEqual(
    both.members.map((m) => [m.user_id, m.connections]).sort(),
    [["other-user", 1], ["tab-user", 1]],
    "a stream each: one for the nine tabs, one for the other user",
  );
  await owner.workspaces.update(ws.workspace_id, { name: "u-31" }, { ifMatch: null });
  await until(other, () => window.names().includes("u-31"), null, "the other user's tab gets events");
  assert.deepEqual((await seenBy(other)).names, ["u-31"], "the other user's tab: its own events only, once");
  await context.close();
  process.stdout.write(`${JSON.stringify({ tabs: TABS, events: 30, ok: true })}\n`);
});
