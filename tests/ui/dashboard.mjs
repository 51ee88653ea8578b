// Drives the /ui dashboard in Debian's chromium (playwright-core from tests/browser): two
// people (two browser contexts, two keys) on one workspace; a bucket settling live; a 422 by
// its field; an edit; a conflicting edit; presence and changes seen live; a server restart.
// Run by tests/ui/test_dashboard.py, which owns the server and the bucket worker: a line
// {"want": ...} on stdout asks it for one ("worker", "restart"), it answers with a line on
// stdin. The last stdout line is the JSON of what the pages showed.
import { createRequire } from "node:module";
import { createInterface } from "node:readline";
import { join } from "node:path";

const require = createRequire(new URL("../browser/package.json", import.meta.url));
const { chromium } = require("playwright-core");
const config = JSON.parse(process.env.MECHAMENTAL_DASHBOARD_CONFIG);
const lines = createInterface({ input: process.stdin });
const answers = lines[Symbol.asyncIterator]();
const TIMEOUT = 30_000; // a hang detector, not a timing

async function ask(want) {
  console.log(JSON.stringify({ want }));
  const answer = await answers.next();
  if (answer.done || answer.value.trim() !== want) throw new Error(`no answer to ${want}`);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-quic"],
});
const offOrigin = [];

async function person(token) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, locale: "en-GB", timezoneId: "UTC" });
  context.setDefaultTimeout(TIMEOUT);
  await context.route("**/*", (route) => {
    const url = route.request().url();
    if (new URL(url).origin === new URL(config.api).origin) return route.continue();
    offOrigin.push(url);
    return route.abort();
  });
  const page = await context.newPage();
  page.on("dialog", (dialog) => dialog.accept());
  page.on("pageerror", (error) => process.stderr.write(`[page error] ${error}\n`));
  await page.goto(`${config.api}/ui#token=${token}`);
  await page.waitForSelector("#workspaces tbody tr");
  return page;
}

const step = (what) => process.stderr.write(`[step] ${new Date().toISOString()} ${what}\n`);
const text = (page, selector) => page.locator(selector).first().innerText();
const row = (page, name) => page.locator("#workspaces tbody tr", { has: page.getByRole("link", { name, exact: true }) });
const member = (page, user) => page.locator(`#members li[data-user="${user}"]`);
const seen = {};
try {
  const alice = await person(config.alice);
  seen.signIn = await alice.evaluate(() => ({ url: location.href, stored: sessionStorage.getItem("mechamental.token") }));
  seen.who = await text(alice, "#who");

  // A 422 shown by its field, then a create; its bucket waits for the worker.
  step("A 422 shown by its field, then a create; its bucke");
  await alice.fill("#create-name", "   ");
  await alice.fill("#create-tags", "Bad Tag");
  await alice.click("#create-form button[type=submit]");
  await alice.locator("#create-name-error").filter({ hasText: /./ }).waitFor();
  seen.invalid = {
    name: await text(alice, "#create-name-error"),
    nameInvalid: await alice.getAttribute("#create-name", "aria-invalid"),
    tags: await text(alice, "#create-tags-error"),
  };
  await alice.fill("#create-name", "Design review");
  await alice.fill("#create-tags", "team-a, q3");
  await alice.fill("#create-description", "Weekly design review");
  await alice.click("#create-form button[type=submit]");
  await row(alice, "Design review").waitFor();
  seen.createdBucket = await row(alice, "Design review").locator("[data-status]").getAttribute("data-status");
  seen.nameErrorAfter = await alice.locator("#create-name-error").innerText();
  step("ask worker");
  await ask("worker");
  step("worker started");
  await alice.waitForFunction(() =>
    [...document.querySelectorAll("#workspaces [data-status]")].every((b) => b.dataset.status === "active"));
  seen.listed = await alice.$$eval("#workspaces tbody th a", (links) => links.map((a) => a.textContent));
  await alice.screenshot({ path: join(config.shots, "dashboard-list.png") });

  // The workspace page: fields, then an edit with If-Match.
  step("The workspace page: fields, then an edit with If-M");
  await alice.getByRole("link", { name: "Design review", exact: true }).click();
  await alice.waitForSelector("#sync-state[data-state=live]");
  await alice.click("#tab-edit");
  await alice.waitForFunction(() => document.querySelector("#edit-name").value === "Design review");
  await alice.fill("#edit-description", "First agenda");
  await alice.click("#edit-form button[type=submit]");
  await alice.locator("#edit-form-error.ok").waitFor();
  seen.saved = await text(alice, "#edit-form-error");
  await alice.click("#tab-fields");
  await alice.locator('dd[data-field="description"]', { hasText: "First agenda" }).waitFor();
  await alice.click("#tab-edit");

  // Bob comes in: each sees the other and the tab they are on.
  step("Bob comes in: each sees the other and the tab they");
  const bob = await person(config.bob);
  await bob.getByRole("link", { name: "Design review", exact: true }).click();
  await bob.waitForSelector("#sync-state[data-state=live]");
  await bob.click("#tab-events");
  await member(alice, "bob").filter({ hasText: "viewing: events tab" }).filter({ hasText: "1 connection" }).waitFor();
  seen.bobInAlice = await member(alice, "bob").innerText();
  await member(bob, "alice").filter({ hasText: "viewing: edit tab" }).waitFor();
  seen.aliceInBob = await member(bob, "alice").innerText();

  // Bob renames it: Alice's log shows it live; her form (older) is refused with a 412.
  step("bob renames");
  await bob.click("#tab-edit");
  await member(alice, "bob").filter({ hasText: "viewing: edit tab" }).waitFor();
  await bob.waitForFunction(() => document.querySelector("#edit-name").value === "Design review");
  await bob.fill("#edit-name", "Design review (bob)");
  await bob.click("#edit-form button[type=submit]");
  await bob.locator("#edit-form-error.ok").waitFor();
  const bobsChange = alice.locator('#events tr[data-type="workspace.updated"]', { hasText: "bob" });
  await bobsChange.waitFor({ state: "attached" });
  seen.bobsChange = await bobsChange.locator("td").allInnerTexts();
  await alice.locator("#edit-stale:not([hidden])").waitFor();
  await alice.fill("#edit-description", "Alice's agenda");
  await alice.click("#edit-form button[type=submit]");
  await alice.locator("#edit-form-error.conflict").waitFor();
  seen.conflict = await text(alice, "#edit-form-error");
  await alice.getByRole("button", { name: "Load latest" }).click();
  await alice.waitForFunction(() => document.querySelector("#edit-name").value === "Design review (bob)");
  await alice.fill("#edit-description", "Alice's agenda");
  await alice.click("#edit-form button[type=submit]");
  await alice.locator("#edit-form-error.ok").waitFor();
  seen.resaved = await text(alice, "#edit-form-error");

  await alice.click("#tab-events");
  await member(bob, "alice").filter({ hasText: "viewing: events tab" }).waitFor();
  await alice.screenshot({ path: join(config.shots, "dashboard-workspace.png") });

  // The server restarts (same data, same port): the pages say so, reconnect, and go on.
  step("The server restarts (same data, same port): the pa");
  for (const page of [alice, bob]) {
    await page.evaluate(() => {
      window.seenStates = [];
      const state = document.getElementById("sync-state");
      new MutationObserver(() => window.seenStates.push(state.dataset.state)).observe(state, { attributes: true });
    });
  }
  await ask("restart");
  step("restarted");
  for (const page of [alice, bob]) await page.waitForFunction(() => window.seenStates.at(-1) === "live");
  seen.states = await alice.evaluate(() => window.seenStates);
  await bob.getByRole("button", { name: "Load latest" }).click();
  await bob.waitForFunction(() => document.querySelector("#edit-description").value === "Alice's agenda");
  await bob.fill("#edit-description", "After the restart");
  await bob.click("#edit-form button[type=submit]");
  await bob.locator("#edit-form-error.ok", { hasText: "description" }).waitFor();
  const afterRestart = alice.locator('#events tr[data-type="workspace.updated"]', { hasText: "After the restart" });
  await afterRestart.waitFor({ state: "attached" });
  seen.afterRestart = await afterRestart.locator("td").allInnerTexts();
  seen.fieldsAfter = await alice.locator('dd[data-field="description"]').innerText();
  seen.updates = await alice.$$eval('#events tr[data-type="workspace.updated"] td.actor', (cells) => cells.map((c) => c.textContent));
  seen.markers = await alice.$$eval('#events tr[data-type="sync.connected"] td.changes', (cells) => cells.map((c) => c.textContent));
} catch (error) {
  // Said here: an open stdin would keep node from exiting on the rejection alone.
  process.stderr.write(`${error.stack ?? error}\n`);
  process.exitCode = 1;
} finally {
  seen.offOrigin = offOrigin;
  lines.close();
  await browser.close();
}
console.log(JSON.stringify(seen));
