// A stream refused by the server's stream cap (429 TOO_MANY_STREAMS with Retry-After): the
// handle reports a typed RateLimitError, waits at least what Retry-After says (not its own
// much shorter backoff), and goes live once a slot is free. Also Retry-After's two forms.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { MechaMental, RateLimitError, retryAfterSeconds } from "../dist/index.js";
import { Server, until } from "./server.mjs";

let server, owner;
before(async () => {
  // Limits on (the tests' servers run without), one stream per user; Retry-After is the
  // retry hint in whole seconds (2 s here).
  server = await Server.start({
    MECHAMENTAL_RATE_LIMITS: "true",
    MECHAMENTAL_MAX_STREAMS_PER_USER: "1",
    MECHAMENTAL_RETRY_MS: "2000",
  });
  owner = new MechaMental({ baseUrl: server.url, orgId: server.orgId, token: await server.key("owner", "owner") });
});
after(() => server?.stop());

test("Retry-After: delta-seconds, an HTTP date, or nothing", () => {
  assert.equal(retryAfterSeconds("7"), 7);
  assert.equal(retryAfterSeconds(" 0 "), 0);
  const now = Date.parse("Thu, 03 Dec 2026 18:00:00 GMT");
  assert.equal(retryAfterSeconds("Thu, 03 Dec 2026 18:00:30 GMT", now), 30);
  assert.equal(retryAfterSeconds("Thu, 03 Dec 2026 17:00:00 GMT", now), 0);
  assert.equal(retryAfterSeconds(null), null);
  assert.equal(retryAfterSeconds("soon"), null);
});

test("a stream over the cap waits Retry-After, then goes live when a slot frees", async () => {
  const ws = await owner.workspaces.create({ name: "capped" });
  const token = await server.key("capped-user");
  const first = new MechaMental({ baseUrl: server.url, orgId: server.orgId, token }).sync(ws.workspace_id, {}, { presence: false });
  await first.ready;

  const opens = []; // when the second handle tried to open its stream
  const counting = (input, init) => {
    if (String(input).includes("/sync/stream")) opens.push(Date.now());
    return fetch(input, init);
  };
  const errors = [];
  const second = new MechaMental({ baseUrl: server.url, orgId: server.orgId, token, fetch: counting }).sync(
    ws.workspace_id,
    { onError: (e) => errors.push(e) },
    { presence: false, minRetryMs: 10, maxRetryMs: 20 }, // its own backoff alone would retry within 20 ms
  );
  await until(() => opens.length >= 2, "the refused stream tried again");
  first.close();
  await second.ready;
  second.close();

  assert.ok(errors.length >= 1);
  for (const error of errors) {
    assert.ok(error instanceof RateLimitError, String(error));
    assert.equal(error.code, "TOO_MANY_STREAMS");
    assert.equal(error.retryAfter, 2);
    assert.equal(error.details.scope, "user");
  }
  // A lower bound the client itself imposes (timers never fire early), not a measurement.
  for (let i = 1; i < errors.length + 1 && i < opens.length; i++) {
    assert.ok(opens[i] - opens[i - 1] >= 2000 - 5, `attempt ${i + 1} came ${opens[i] - opens[i - 1]} ms after the last`);
  }
});
