// What the ts_browser scripts share: a real `mechamental serve` (clients/typescript/test/
// server.mjs: own data dir, restartable on the same port), a site on another loopback origin
// that serves page.html and the compiled client (clients/typescript/dist, as ES modules),
// and Debian's chromium driven by playwright-core (tests/browser/node_modules).
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "../browser/node_modules/playwright-core/index.mjs";
import { freePort, Server } from "../../clients/typescript/test/server.mjs";

const here = fileURLToPath(new URL(".", import.meta.url));
const dist = fileURLToPath(new URL("../../clients/typescript/dist/", import.meta.url));
const TYPES = { ".js": "text/javascript; charset=utf-8", ".html": "text/html; charset=utf-8" };
export const HANG = 60_000; // a hang detector on a loaded machine, never a measurement

/** The page's origin: page.html at `/`, the client at `/dist/…`. */
async function site(port) {
  const server = createServer(async (request, response) => {
    const path = new URL(request.url, "http://x").pathname;
    const file = path === "/" ? join(here, "page.html") : path.startsWith("/dist/") ? normalize(join(dist, path.slice(6))) : null;
    if (file === null || !file.startsWith(here.slice(0, -1)) && !file.startsWith(dist)) {
      response.writeHead(404).end();
      return;
    }
    try {
      const body = await readFile(file);
      response.writeHead(200, { "Content-Type": TYPES[extname(file)] ?? "application/octet-stream" });
      response.end(body);
    } catch {
      response.writeHead(404).end();
    }
  });
  await new Promise((resolve) => server.listen(port, "127.0.0.1", resolve));
  return server;
}

/** Start everything; `run(world)` does the test; everything stops after, whatever happens. */
export async function withWorld(run) {
  const pagePort = await freePort();
  const pageOrigin = `http://127.0.0.1:${pagePort}`;
  const api = await Server.start({ MECHAMENTAL_CORS_ORIGINS: pageOrigin });
  const web = await site(pagePort);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  try {
    return await run({ api, browser, pageOrigin });
  } finally {
    await browser.close().catch(() => undefined);
    web.close();
    await api.stop();
  }
}

/** A tab of `context` with the client loaded and a handle on `workspace` (see page.html). */
export async function openTab(context, pageOrigin, config, label) {
  const page = await context.newPage();
  page.on("console", (m) => process.stderr.write(`[${label}] ${m.text()}\n`));
  page.on("pageerror", (e) => process.stderr.write(`[${label}] page error: ${e}\n`));
  await page.goto(`${pageOrigin}/`);
  await page.waitForFunction(() => window.ready === true, null, { timeout: HANG });
  await page.evaluate((c) => window.start(c), config);
  return page;
}

/** Wait in the page for `predicate(arg)`; on a hang, say what and what the page saw. */
export async function until(page, predicate, arg, what) {
  try {
    await page.waitForFunction(predicate, arg, { timeout: HANG });
  } catch (error) {
    const seen = await page.evaluate(() => ({ statuses: window.seen.statuses, names: window.names() })).catch(() => null);
    throw new Error(`${what} did not happen; the page saw ${JSON.stringify(seen)}`, { cause: error });
  }
}

/** A promise that fails if `promise` has not settled within HANG (a hang, not a timing). */
export function noHang(promise, what) {
  let timer;
  const hang = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} hung`)), HANG)));
  return Promise.race([promise, hang]).finally(() => clearTimeout(timer));
}

/** What one page saw: the names of its workspace.updated events, event ids, statuses. */
export function seenBy(page) {
  return page.evaluate(() => ({
    names: window.names(),
    ids: window.seen.events.filter((e) => !e.type.startsWith("sync.")).map((e) => e.id),
    statuses: window.seen.statuses,
    connected: window.seen.events.filter((e) => e.type === "sync.connected").map((e) => e.data.resumed),
    leading: window.handle.leading,
  }));
}
