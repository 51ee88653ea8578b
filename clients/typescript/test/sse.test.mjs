// The SSE parser on its own: frames split anywhere, CRLF/CR/LF, comments, multi-line data.
import assert from "node:assert/strict";
import { test } from "node:test";
import { SseParser, readSse } from "../dist/index.js";

function collect() {
  const frames = [], retries = [];
  return { frames, retries, sink: { frame: (f) => frames.push(f), retry: (ms) => retries.push(ms) } };
}

const TEXT =
  "retry: 1500\n\n: keep-alive\n\nid: 7-ab\nevent: workspace.updated\ndata: {\"a\":1}\n\n" +
  "event: sync.unauthorized\r\ndata: line1\r\ndata:line2\r\n\r\n" +
  "id: 8-ab\rdata: x\r\rdata: no end";

test("every split of a stream gives the same frames", () => {
  const whole = collect();
  new SseParser(whole.sink).push(TEXT);
  assert.deepEqual(whole.retries, [1500]);
  assert.deepEqual(whole.frames, [
    { id: "7-ab", event: "workspace.updated", data: '{"a":1}' },
    { id: undefined, event: "sync.unauthorized", data: "line1\nline2" },
    { id: "8-ab", event: "message", data: "x" },
  ]);
  for (let cut = 1; cut < TEXT.length; cut++) {
    const parts = collect();
    const parser = new SseParser(parts.sink);
    parser.push(TEXT.slice(0, cut));
    parser.push(TEXT.slice(cut));
    assert.deepEqual(parts.frames, whole.frames, `split at ${cut}`);
  }
});

test("readSse decodes UTF-8 split across chunks", async () => {
  const bytes = new TextEncoder().encode('data: {"name":"héllo ✓"}\n\n');
  const body = new ReadableStream({
    start(c) {
      for (const b of bytes) c.enqueue(new Uint8Array([b]));
      c.close();
    },
  });
  const got = collect();
  await readSse(body, got.sink);
  assert.deepEqual(got.frames.map((f) => JSON.parse(f.data)), [{ name: "héllo ✓" }]);
});
