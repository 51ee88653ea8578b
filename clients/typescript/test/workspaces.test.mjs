// Workspaces CRUD against a real server: pages, idempotent create, If-Match, typed errors.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { ConflictError, MechaMental, MechaMentalError, NotFoundError, ValidationError, AuthenticationError } from "../dist/index.js";
import { Server } from "./server.mjs";

let server, client;
before(async () => {
  server = await Server.start();
  client = new MechaMental({ baseUrl: server.url, orgId: server.orgId, token: await server.key("alice", "admin") });
});
after(() => server?.stop());

test("list iterates over every page, with filters", async () => {
  for (let i = 0; i < 7; i++) await client.workspaces.create({ name: `page-${i}`, tags: i % 2 ? ["odd"] : [] });
  const all = [];
  for await (const ws of client.workspaces.list({ q: "page-", pageSize: 2 })) all.push(ws.name);
  assert.deepEqual(all.sort(), [0, 1, 2, 3, 4, 5, 6].map((i) => `page-${i}`));
  const odd = [];
  for await (const ws of client.workspaces.list({ tag: "odd", pageSize: 2 })) odd.push(ws.name);
  assert.deepEqual(odd.sort(), ["page-1", "page-3", "page-5"]);
  const page = await client.workspaces.listPage({ limit: 3, q: "page-" });
  assert.equal(page.total, 7);
  assert.equal(page.has_more, true);
  assert.equal(page.workspaces.length, 3);
  assert.equal(typeof page.next_cursor, "string");
});

test("create with the same idempotency key creates once; without one each call is new", async () => {
  const first = await client.workspaces.create({ name: "once" }, { idempotencyKey: "key-1" });
  const again = await client.workspaces.create({ name: "once" }, { idempotencyKey: "key-1" });
  assert.equal(again.workspace_id, first.workspace_id);
  const other = await client.workspaces.create({ name: "once" });
  assert.notEqual(other.workspace_id, first.workspace_id);
  let count = 0;
  for await (const ws of client.workspaces.list({ q: "once" })) count += ws.name === "once" ? 1 : 0;
  assert.equal(count, 2);
});

test("update sends the ETag of the last read; a stale one is a ConflictError", async () => {
  const ws = await client.workspaces.create({ name: "etag" });
  await client.workspaces.get(ws.workspace_id);
  const stale = client.workspaces.etag(ws.workspace_id);
  assert.match(stale, /^".+"$/);
  const renamed = await client.workspaces.update(ws.workspace_id, { name: "etag-2" });
  assert.equal(renamed.name, "etag-2");
  assert.notEqual(client.workspaces.etag(ws.workspace_id), stale);
  const error = await client.workspaces.update(ws.workspace_id, { name: "lost" }, { ifMatch: stale }).catch((e) => e);
  assert.ok(error instanceof ConflictError, String(error));
  assert.equal(error.status, 412);
  assert.equal(error.code, "PRECONDITION_FAILED");
  assert.ok(error.requestId);
  assert.equal((await client.workspaces.get(ws.workspace_id)).name, "etag-2");
  // Someone else changes it: our remembered ETag is now stale too.
  const other = new MechaMental({ baseUrl: server.url, orgId: server.orgId, token: await server.key("bob", "admin") });
  await other.workspaces.update(ws.workspace_id, { description: "bob was here" });
  await assert.rejects(client.workspaces.delete(ws.workspace_id), ConflictError);
  await client.workspaces.get(ws.workspace_id);
  assert.deepEqual(await client.workspaces.delete(ws.workspace_id), { message: `Workspace ${ws.workspace_id} deleted` });
  const gone = await client.workspaces.get(ws.workspace_id).catch((e) => e);
  assert.ok(gone instanceof NotFoundError);
  assert.equal(gone.code, "RESOURCE_NOT_FOUND");
  assert.ok(gone instanceof MechaMentalError);
});

test("422 keeps FastAPI's detail list", async () => {
  const error = await client.workspaces.create({ name: "" }).catch((e) => e);
  assert.ok(error instanceof ValidationError, String(error));
  assert.equal(error.status, 422);
  assert.ok(Array.isArray(error.detail) && error.detail.length > 0);
  assert.deepEqual(error.detail[0].loc, ["body", "name"]);
});

test("a refused credential asks getToken again; a fixed bad token is an AuthenticationError", async () => {
  const good = await server.key("carol", "member");
  const given = ["mm_not_a_key", good];
  let asked = 0;
  const rotating = new MechaMental({ baseUrl: server.url, orgId: server.orgId, getToken: async () => given[asked++] });
  const page = await rotating.workspaces.listPage({ limit: 1 });
  assert.equal(asked, 2);
  assert.equal(page.workspaces.length, 1);
  const bad = new MechaMental({ baseUrl: server.url, orgId: server.orgId, token: "mm_not_a_key" });
  const error = await bad.workspaces.listPage().catch((e) => e);
  assert.ok(error instanceof AuthenticationError);
  assert.equal(error.code, "AUTHENTICATION_FAILED");
});
