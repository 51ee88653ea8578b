// @mechamental/client/react in real Chromium against a real `mechamental serve`: a page on
// another origin (CORS) mounts two StrictMode trees, alice's and bob's; they see each other
// in usePresence, see who views what through useViewing (args changed, a newer viewer
// mounted and unmounted, the last one unmounted), see a PUT
// made through the API in useWorkspace, and a delete. StrictMode's double mount opens one
// stream and never leaves presence (the server's /metrics and the client's sync calls say).
// Run by tests/ts_react/test_react.py; prints one JSON line with what it saw.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { Server, freePort, until } from "../../clients/typescript/test/server.mjs";

const PACKAGE = fileURLToPath(new URL("../../clients/typescript/", import.meta.url));
const require = createRequire(PACKAGE + "package.json");
const esbuild = require("esbuild");
const { chromium } = require("playwright-core");
const METRICS_TOKEN = "react-test-metrics-" + "m".repeat(20);

// The React to run on: the client's dev React (19) by default, or the node_modules folder
// REACT_MODULES names (tests/ts_react/react18). The client's hooks resolve to the same copy.
const reactModules = process.env.REACT_MODULES ?? PACKAGE + "node_modules";
const reactRequire = createRequire(reactModules + "/");
const reactVersion = reactRequire("react/package.json").version;

// The app, bundled once: React's development build (StrictMode's double mount happens there).
const bundle = await esbuild.build({
  entryPoints: [fileURLToPath(new URL("./app.jsx", import.meta.url))],
  bundle: true,
  write: false,
  format: "esm",
  jsx: "automatic",
  jsxDev: true,
  define: { "process.env.NODE_ENV": '"development"' },
  nodePaths: [PACKAGE + "node_modules"],
  alias: {
    react: reactModules + "/react",
    "react-dom": reactModules + "/react-dom",
    "@mechamental/client/react": PACKAGE + "dist/react/index.js",
    "@mechamental/client": PACKAGE + "dist/index.js",
  },
  logLevel: "error",
});
const appJs = bundle.outputFiles[0].text;
const pageHtml = '<!doctype html><meta charset="utf-8"><title>react</title><script type="module" src="/app.js"></script>';

const pagePort = await freePort();
const pageOrigin = `http://127.0.0.1:${pagePort}`;
const site = createServer((request, response) => {
  const js = request.url === "/app.js";
  response.writeHead(200, { "Content-Type": js ? "text/javascript" : "text/html; charset=utf-8" });
  response.end(js ? appJs : pageHtml);
});
await new Promise((resolve) => site.listen(pagePort, "127.0.0.1", resolve));

const server = await Server.start({ MECHAMENTAL_CORS_ORIGINS: pageOrigin, MECHAMENTAL_METRICS_TOKEN: METRICS_TOKEN });
const keys = { owner: await server.key("owner", "owner"), alice: await server.key("alice"), bob: await server.key("bob") };

async function api(method, path, body) {
  const response = await fetch(`${server.url}/v1/orgs/${server.orgId}${path}`, {
    method,
    headers: { Authorization: `Bearer ${keys.owner}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  assert.ok(response.ok, `${method} ${path}: ${response.status} ${await response.clone().text()}`);
  return response.json();
}

/** The server's readings: open streams, streams ever opened, presence leaves. */
async function metrics() {
  const text = await (await fetch(`${server.url}/metrics`, { headers: { Authorization: `Bearer ${METRICS_TOKEN}` } })).text();
  const sum = (pattern) =>
    text
      .split("\n")
      .filter((line) => pattern.test(line))
      .reduce((total, line) => total + Number(line.split(" ").at(-1)), 0);
  return {
    streams: sum(/^mechamental_sync_streams /),
    opens: sum(/^mechamental_sync_stream_opens_total\{/),
    leaves: sum(/^mechamental_presence_calls_total\{kind="leave"\}/),
  };
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync"],
});
const result = {};
try {
  const page = await browser.newPage();
  page.on("console", (message) => process.stderr.write(`[page] ${message.text()}\n`));
  page.on("pageerror", (error) => process.stderr.write(`[page error] ${error}\n`));
  await page.goto(pageOrigin + "/");
  await page.waitForFunction(() => window.ready === true);
  const seen = () => page.evaluate(() => window.seen);
  const waitSeen = async (what, predicate) => {
    try {
      await until(async () => predicate(await seen()), what);
    } catch (error) {
      throw new Error(`${what}; seen: ${JSON.stringify(await seen())}`, { cause: error });
    }
  };
  const others = (s, slot) => s[slot]?.presence?.others ?? [];
  const { workspace_id: workspaceId } = await api("POST", "/workspaces", { name: "shared" });
  const mount = (slot, viewing) =>
    page.evaluate((args) => window.app.mount(args.slot, args), {
      slot, api: server.url, org: server.orgId, token: keys[slot], workspaceId, strict: true, viewing,
    });

  // alice, StrictMode, three components on the workspace, viewing doc-1.
  await mount("alice", [["document", "doc-1"]]);
  await waitSeen("alice live, viewing doc-1", (s) =>
    s.alice?.workspace?.status === "live" &&
    s.alice.presence?.me === "alice" &&
    s.alice.presence.members.some((m) => m.user_id === "alice" && m.viewing === "document/doc-1"));
  assert.equal(await page.evaluate(() => window.mountEffects.alice), 2, "StrictMode mounted twice");
  result.aliceWorkspace = (await seen()).alice.workspace;

  // bob joins, viewing the same document: each sees the other, and who views doc-1.
  await mount("bob", [["document", "doc-1"]]);
  await waitSeen("each sees the other view doc-1", (s) =>
    s.bob?.viewers?.["document/doc-1"]?.join() === "alice" && s.alice?.viewers?.["document/doc-1"]?.join() === "bob");
  result.bobOthers = others(await seen(), "bob");
  result.aliceOthers = others(await seen(), "alice");
  const afterMounts = await metrics();
  result.afterMounts = { ...afterMounts, syncCalls: await page.evaluate(() => window.syncCalls) };
  assert.deepEqual(result.afterMounts, { streams: 2, opens: 2, leaves: 0, syncCalls: { alice: 1, bob: 1 } });

  // alice's args change: she views doc-2; nobody views doc-1 with bob any more.
  const aliceViews = (s, resource) => others(s, "bob").some((m) => m.user_id === "alice" && m.viewing === resource);
  await page.evaluate(() => window.app.view("alice", [["document", "doc-2"]]));
  await waitSeen("bob sees alice move to doc-2", (s) =>
    s.bob.viewers["document/doc-1"].length === 0 && aliceViews(s, "document/doc-2"));
  // A second viewer mounts: the newest is announced; once it unmounts, the one before again.
  await page.evaluate(() => window.app.view("alice", [["document", "doc-2"], ["sheet", "s-3"]]));
  await waitSeen("bob sees alice on the newest viewer", (s) => aliceViews(s, "sheet/s-3"));
  await page.evaluate(() => window.app.view("alice", [["document", "doc-2"]]));
  await waitSeen("bob sees alice back on doc-2", (s) => aliceViews(s, "document/doc-2"));
  // alice's last viewer unmounts: still present, viewing nothing.
  await page.evaluate(() => window.app.view("alice", []));
  await waitSeen("bob sees alice view nothing", (s) =>
    aliceViews(s, null));
  result.bobOthersAfterUnview = others(await seen(), "bob");

  // A PUT through the API: both trees' useWorkspace follow.
  await api("PUT", `/workspaces/${workspaceId}`, { name: "renamed" });
  await waitSeen("both see the rename", (s) => s.alice.workspace.name === "renamed" && s.bob.workspace.name === "renamed");

  // alice's whole tree unmounts: her stream closes and bob sees her leave.
  await page.evaluate(() => window.app.unmount("alice"));
  await waitSeen("bob sees alice leave", (s) => others(s, "bob").length === 0);
  await until(async () => (await metrics()).streams === 1, "one stream left");

  // The workspace is deleted: bob's useWorkspace says null, closed.
  await api("DELETE", `/workspaces/${workspaceId}`);
  await waitSeen("bob sees the delete", (s) => s.bob.workspace.name === null && s.bob.workspace.status === "closed");
  result.bobAfterDelete = (await seen()).bob.workspace;
  await page.evaluate(() => window.app.unmount("bob"));
  await until(async () => (await metrics()).streams === 0, "no stream left");
  result.syncCalls = await page.evaluate(() => window.syncCalls);
  result.react = { page: await page.evaluate(() => window.reactVersion), modules: reactVersion };
  process.stdout.write(`${JSON.stringify(result)}\n`);
} finally {
  await browser.close();
  site.close();
  await server.stop();
}
