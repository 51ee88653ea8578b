// Drives Debian's chromium (playwright-core, no browser download) through the front door:
// a page on its own loopback origin opens the stream with a ticket, makes presence calls
// with Authorization, reads ETag and sends If-Match; then its key is revoked and the page
// sees sync.unauthorized; a fresh ticket and the last event id miss nothing.
// Run by tests/browser/test_front_door.py, which starts the server; prints one JSON line.
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

const config = JSON.parse(process.env.MECHAMENTAL_BROWSER_CONFIG);
const page_html = await readFile(new URL("./page.html", import.meta.url));

// The page's own origin: another loopback port than the API's.
const site = createServer((request, response) => {
  response.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
  response.end(page_html);
});
await new Promise((resolve) => site.listen(config.pagePort, "127.0.0.1", resolve));

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});

async function until(page, predicate, arg, what) {
  try {
    return await page.waitForFunction(predicate, arg, { timeout: 30_000 });
  } catch (error) {
    const events = await page.evaluate(() => window.events.map((e) => e.type));
    throw new Error(`${what} did not happen; events: ${events.join(", ")}`, { cause: error });
  }
}

const result = {};
try {
  const page = await browser.newPage();
  page.on("console", (message) => process.stderr.write(`[page] ${message.text()}\n`));
  const query = new URLSearchParams({
    api: config.api,
    org: config.org,
    workspace: config.workspace,
  });
  await page.goto(`http://127.0.0.1:${config.pagePort}/?${query}`);
  await page.waitForFunction(() => window.ready === true);

  // A ticket (Authorization: a preflighted cross-origin POST), then the stream.
  const ticket = await page.evaluate((key) => window.frontDoor.ticket(key), config.key);
  assert.equal(ticket.status, 201, JSON.stringify(ticket));
  assert.ok(ticket.requestId, "X-Request-ID is readable");
  const connected = await page.evaluate((url) => window.frontDoor.open(url), ticket.body.stream_url);
  assert.equal(connected.type, "sync.connected");
  result.connected = connected.data.workspace.workspace_id;

  // Presence with Authorization; the page's own stream sees the join.
  const joined = await page.evaluate((key) => window.frontDoor.presence(key, "join"), config.key);
  assert.equal(joined.status, 200);
  assert.equal(joined.body, null);
  await until(page, () => window.events.some((e) => e.type === "presence.joined"), null, "join");
  const members = await page.evaluate((key) => window.frontDoor.members(key), config.key);
  result.members = members.body.members.map((m) => [m.user_id, m.connections]);

  // ETag is exposed; If-Match is sent; a stale one is a readable 412.
  const read = await page.evaluate((key) => window.frontDoor.read(key), config.key);
  assert.equal(read.status, 200);
  assert.ok(read.etag, "ETag is readable cross-origin");
  const renamed = await page.evaluate(
    ([key, etag]) => window.frontDoor.rename(key, "from the browser", etag),
    [config.key, read.etag],
  );
  assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
  const stale = await page.evaluate(
    ([key, etag]) => window.frontDoor.rename(key, "stale", etag),
    [config.key, read.etag],
  );
  result.stale = { status: stale.status, error: stale.body.error };
  await until(
    page,
    () => window.events.some((e) => e.type === "workspace.updated"),
    null,
    "workspace.updated",
  );
  const lastEventId = await page.evaluate(() => window.lastEventId);
  assert.ok(lastEventId, "events carry ids");
  result.changes = await page.evaluate(
    () => window.events.filter((e) => e.type === "workspace.updated").map((e) => e.data.data.changes),
  );

  // The key is revoked (by its org's owner, over HTTP): the stream says so and closes.
  const revoked = await fetch(`${config.api}/v1/orgs/${config.org}/api-keys/${config.keyId}`, {
    method: "DELETE",
    headers: { Authorization: `Bearer ${config.ownerKey}` },
  });
  assert.equal(revoked.status, 204);
  await until(
    page,
    () => window.events.some((e) => e.type === "sync.unauthorized"),
    null,
    "sync.unauthorized",
  );
  result.unauthorized = await page.evaluate(
    () => window.events.find((e) => e.type === "sync.unauthorized").data.data,
  );
  // EventSource reconnects with the same ticket, which died with its key: it gives up.
  await until(page, () => window.source.readyState === EventSource.CLOSED, null, "give up");
  // The frame has no id: the resume point is still the last event received.
  result.resumeFrom = await page.evaluate(() => window.lastEventId);
  assert.equal(result.resumeFrom, lastEventId, "sync.unauthorized moved no resume point");

  // Meanwhile the workspace changed; a fresh ticket and the last event id miss nothing.
  const other = await fetch(`${config.api}/v1/orgs/${config.org}/workspaces/${config.workspace}`, {
    method: "PUT",
    headers: { Authorization: `Bearer ${config.ownerKey}`, "Content-Type": "application/json" },
    body: JSON.stringify({ name: "while away" }),
  });
  assert.equal(other.status, 200);
  await page.evaluate(() => {
    window.source.close();
    window.events = [];
  });
  const fresh = await page.evaluate((key) => window.frontDoor.ticket(key), config.spareKey);
  assert.equal(fresh.status, 201);
  const again = await page.evaluate(
    ([url, id]) => window.frontDoor.open(url, id),
    [fresh.body.stream_url, result.resumeFrom],
  );
  result.resumed = again.data.resumed;
  await until(
    page,
    () => window.events.some((e) => e.type === "workspace.updated"),
    null,
    "the missed update",
  );
  result.afterResume = await page.evaluate(() =>
    window.events.filter((e) => e.type.startsWith("workspace.")).map((e) => e.data.data.changes),
  );
  process.stdout.write(`${JSON.stringify(result)}\n`);
} finally {
  await browser.close();
  site.close();
}
