// @mechamental/client/react as a package: the "./react" export resolves (self-reference through
// package.json "exports"), it imports nothing at run time but React, the core imports no React,
// and React stays an optional peer. With react-dom/server: rendering on a server opens no
// stream, and a hook outside a provider says what is missing. Live behaviour: tests/ts_react.
import assert from "node:assert/strict";
import { readFile, readdir } from "node:fs/promises";
import { test } from "node:test";
import { createElement } from "react";
import { renderToString } from "react-dom/server";
import { MechaMental } from "@mechamental/client";
import { MechaMentalProvider, usePresence, useViewing, useWorkspace } from "@mechamental/client/react";

const dist = new URL("../dist/", import.meta.url);
const specifiers = (source) => [...source.matchAll(/^\s*(?:import|export)[^;]*?from\s+"([^"]+)"/gm)].map((m) => m[1]);

async function importsOf(dir, skip = null) {
  const found = new Set();
  for (const name of await readdir(new URL(dir, dist), { recursive: true })) {
    if (!name.endsWith(".js") || (skip && name.startsWith(skip))) continue;
    for (const s of specifiers(await readFile(new URL(dir + name, dist), "utf8"))) found.add(s);
  }
  return [...found].sort();
}

test("the react entry imports only react (and itself); the core imports no package", async () => {
  const external = (list) => list.filter((s) => !s.startsWith("."));
  assert.deepEqual(external(await importsOf("react/")), ["react"]);
  const core = await importsOf("", "react/");
  assert.deepEqual(external(core), [], `core imports: ${core}`);
  assert.ok((await importsOf("react/")).includes("./store.js"));
});

test("react is an optional peer, and the package has no runtime dependencies", async () => {
  const pkg = JSON.parse(await readFile(new URL("../package.json", import.meta.url), "utf8"));
  assert.equal(pkg.dependencies, undefined);
  assert.equal(pkg.peerDependencies.react, ">=18");
  assert.equal(pkg.peerDependenciesMeta.react.optional, true);
  assert.deepEqual(Object.keys(pkg.exports), [".", "./react"]);
});

test("a server render opens no stream and shows the initial state", () => {
  const client = new MechaMental({ baseUrl: "http://127.0.0.1:9", orgId: "org", token: "unused" });
  let syncCalls = 0;
  const sync = client.sync.bind(client);
  client.sync = (...args) => {
    syncCalls += 1;
    return sync(...args);
  };
  function Page() {
    const { workspace, status } = useWorkspace();
    const { others } = usePresence();
    const viewers = useViewing("document", "doc-1");
    return createElement("p", null, `${workspace?.name ?? "none"} ${status} ${others.length} ${viewers.length}`);
  }
  const html = renderToString(createElement(MechaMentalProvider, { client, workspaceId: "ws-1" }, createElement(Page)));
  assert.equal(html, "<p>none connecting 0 0</p>");
  assert.equal(syncCalls, 0);
});

test("no workspace anywhere: idle, nothing opened; no provider: a clear error", () => {
  const client = new MechaMental({ baseUrl: "http://127.0.0.1:9", orgId: "org", token: "unused" });
  function Page() {
    return createElement("p", null, useWorkspace().status);
  }
  assert.equal(renderToString(createElement(MechaMentalProvider, { client }, createElement(Page))), "<p>closed</p>");
  assert.throws(() => renderToString(createElement(Page)), /MechaMentalProvider/);
});
