// client.sync against a real server: events, presence, reset, a fresh credential after
// sync.unauthorized, and a server killed mid-stream: nothing lost, nothing twice.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { MechaMental } from "../dist/index.js";
import { Server, until } from "./server.mjs";

let server, owner;
const FAST = { minRetryMs: 50, maxRetryMs: 500 };
before(async () => {
  server = await Server.start();
  owner = new MechaMental({ baseUrl: server.url, orgId: server.orgId, token: await server.key("owner", "owner") });
});
after(() => server?.stop());

function recorder() {
  const seen = { events: [], statuses: [], resets: [], members: [] };
  return {
    seen,
    handlers: {
      onEvent: (e) => seen.events.push(e),
      onStatus: (s) => seen.statuses.push(s),
      onReset: (w) => seen.resets.push(w),
      onMembers: (m) => seen.members.push(m),
    },
  };
}
const names = (seen) => seen.events.filter((e) => e.type === "workspace.updated").map((e) => e.data.workspace.name);

test("two users: join, events, viewing, members kept current, leave on close", async () => {
  const ws = await owner.workspaces.create({ name: "together" });
  const alice = new MechaMental({ baseUrl: server.url, orgId: server.orgId, token: await server.key("alice") });
  const bob = new MechaMental({ baseUrl: server.url, orgId: server.orgId, token: await server.key("bob") });
  const a = recorder();
  const sa = alice.sync(ws.workspace_id, a.handlers, FAST);
  await sa.ready;
  assert.equal(sa.status, "live");
  assert.equal(sa.workspace.workspace_id, ws.workspace_id);
  await until(() => sa.members().some((m) => m.user_id === "alice"), "alice present");
  const sb = bob.sync(ws.workspace_id, {}, { ...FAST, auth: "ticket" });
  await sb.ready;
  assert.equal(sb.me, "bob");
  await until(() => sa.members().some((m) => m.user_id === "bob"), "alice sees bob");
  const here = await alice.workspaces.presence(ws.workspace_id);
  assert.deepEqual(here.members.map((m) => [m.user_id, m.connections]).sort(), [["alice", 1], ["bob", 1]]);
  await sb.view("document", "doc-1");
  await until(
    () => sa.members().find((m) => m.user_id === "bob")?.viewing?.resource_id === "doc-1",
    "alice sees bob viewing doc-1",
  );
  await owner.workspaces.update(ws.workspace_id, { name: "renamed" }, { ifMatch: null });
  await until(() => sa.workspace.name === "renamed" && sb.workspace.name === "renamed", "both see the rename");
  sb.close();
  assert.equal(sb.status, "closed");
  await until(() => !sa.members().some((m) => m.user_id === "bob"), "alice sees bob leave");
  sa.close();
  assert.deepEqual(a.seen.statuses, ["live", "closed"]);
  const types = a.seen.events.map((e) => e.type);
  assert.equal(types[0], "sync.connected");
  for (const t of ["presence.joined", "presence.viewing", "workspace.updated", "presence.left"]) assert.ok(types.includes(t), t);
});

test("a server killed mid-stream: every event once, in order, across the restart", async () => {
  const ws = await owner.workspaces.create({ name: "r-0" });
  const watcher = new MechaMental({ baseUrl: server.url, orgId: server.orgId, token: await server.key("watcher") });
  const w = recorder();
  const sync = watcher.sync(ws.workspace_id, w.handlers, { ...FAST, presence: false });
  await sync.ready;
  for (let i = 1; i <= 5; i++) await owner.workspaces.update(ws.workspace_id, { name: `r-${i}` }, { ifMatch: null });
  await until(() => names(w.seen).length === 5, "five events before the restart");
  await server.restart("SIGKILL");
  for (let i = 6; i <= 10; i++) await owner.workspaces.update(ws.workspace_id, { name: `r-${i}` }, { ifMatch: null });
  await until(() => names(w.seen).length >= 10 && sync.status === "live", "ten events after the restart");
  await owner.workspaces.update(ws.workspace_id, { name: "r-11" }, { ifMatch: null });
  await until(() => names(w.seen).length >= 11, "a live event after the resume");
  sync.close();
  assert.deepEqual(names(w.seen), Array.from({ length: 11 }, (_, i) => `r-${i + 1}`));
  const ids = w.seen.events.filter((e) => e.id && !e.type.startsWith("sync.")).map((e) => e.id);
  assert.equal(new Set(ids).size, ids.length, "no event twice");
  assert.ok(w.seen.statuses.includes("reconnecting"));
  assert.equal(w.seen.statuses.filter((s) => s === "live").length >= 2, true);
  const connected = w.seen.events.filter((e) => e.type === "sync.connected");
  assert.equal(connected.at(-1).data.resumed, true);
});

test("an unknown resume point: sync.reset, the workspace refetched, onReset", async () => {
  const ws = await owner.workspaces.create({ name: "reset-me" });
  const r = recorder();
  const sync = owner.sync(ws.workspace_id, r.handlers, { ...FAST, presence: false, lastEventId: "999999-00000000" });
  await until(() => r.seen.resets.length === 1, "onReset");
  assert.equal(r.seen.resets[0].workspace_id, ws.workspace_id);
  assert.equal(r.seen.resets[0].name, "reset-me");
  await owner.workspaces.update(ws.workspace_id, { name: "after reset" }, { ifMatch: null });
  await until(() => names(r.seen).includes("after reset"), "events after the reset");
  sync.close();
});

test("a revoked key's sync.unauthorized: getToken again, resume by last event id, once each", async () => {
  const ws = await owner.workspaces.create({ name: "u-0" });
  const mint = () => owner.http.json("POST", owner.http.orgPath("/api-keys"), { body: { name: "renewer", role: "member", user_id: "renewer" } });
  let keys = [];
  let asked = 0;
  const getToken = () => keys[Math.min(asked++, keys.length - 1)].secret;
  for (const auth of ["header", "ticket"]) {
    asked = 0;
    keys = [await mint(), await mint()];
    const renewer = new MechaMental({ baseUrl: server.url, orgId: server.orgId, getToken });
    const r = recorder();
    const sync = renewer.sync(ws.workspace_id, r.handlers, { ...FAST, presence: false, auth });
    await sync.ready;
    const start = names(r.seen).length;
    for (let i = 1; i <= 3; i++) await owner.workspaces.update(ws.workspace_id, { name: `${auth}-${i}` }, { ifMatch: null });
    await until(() => names(r.seen).length === start + 3, `${auth}: three events before the revocation`);
    const revoked = await owner.http.send("DELETE", owner.http.orgPath(`/api-keys/${keys[0].id}`));
    assert.equal(revoked.status, 204);
    for (let i = 4; i <= 6; i++) await owner.workspaces.update(ws.workspace_id, { name: `${auth}-${i}` }, { ifMatch: null });
    await until(() => r.seen.events.some((e) => e.type === "sync.unauthorized"), `${auth}: sync.unauthorized`);
    await until(() => names(r.seen).length === start + 6 && sync.status === "live", `${auth}: resumed with a fresh key`);
    await owner.workspaces.update(ws.workspace_id, { name: `${auth}-7` }, { ifMatch: null });
    await until(() => names(r.seen).length === start + 7, `${auth}: a live event after the resume`);
    sync.close();
    assert.equal(asked, 2, "getToken asked once more, after sync.unauthorized");
    assert.deepEqual(names(r.seen).slice(start), Array.from({ length: 7 }, (_, i) => `${auth}-${i + 1}`));
    const ids = r.seen.events.filter((e) => !e.type.startsWith("sync.")).map((e) => e.id);
    assert.equal(new Set(ids).size, ids.length, "no event twice");
    const unauthorized = r.seen.events.find((e) => e.type === "sync.unauthorized");
    assert.equal(unauthorized.data.reason, "token_revoked");
    assert.deepEqual(r.seen.statuses, ["live", "reconnecting", "live", "closed"]);
    const connected = r.seen.events.filter((e) => e.type === "sync.connected");
    assert.equal(connected.length, 2);
    assert.equal(connected[1].data.resumed, true);
  }
});
