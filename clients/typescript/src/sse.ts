// A Server-Sent Events parser over a fetch body (ReadableStream), as the HTML standard
// parses: fields `id`, `event`, `data` (joined by newlines), `retry`; comments ignored; a
// frame ends at a blank line. Works the same in Node >= 20 and browsers.

export interface SseFrame {
  /** The frame's `id:` (undefined: the frame had none, the resume point stays). */
  id: string | undefined;
  event: string;
  data: string;
}

export interface SseSink {
  frame(frame: SseFrame): void;
  retry(ms: number): void;
  /** Any bytes arrived (heartbeats too): for a watchdog on silent connections. */
  alive?(): void;
}

export class SseParser {
  private buffer = "";
  private data: string[] = [];
  private event = "";
  private id: string | undefined = undefined;
  private sawData = false;

  constructor(private readonly sink: SseSink) {}

  push(text: string): void {
    this.buffer += text;
    let start = 0;
    for (;;) {
      const nl = this.buffer.slice(start).search(/\r\n|\r|\n/);
      if (nl < 0) break;
      const end = start + nl;
      // A lone "\r" at the very end may be the first half of "\r\n": wait for more.
      if (this.buffer[end] === "\r" && end + 1 === this.buffer.length) break;
      const width = this.buffer.startsWith("\r\n", end) ? 2 : 1;
      this.line(this.buffer.slice(start, end));
      start = end + width;
    }
    this.buffer = this.buffer.slice(start);
  }

  private line(line: string): void {
    if (line === "") {
      if (this.sawData || this.event) {
        this.sink.frame({ id: this.id, event: this.event || "message", data: this.data.join("\n") });
      }
      this.data = [];
      this.event = "";
      this.id = undefined;
      this.sawData = false;
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") {
      this.data.push(value);
      this.sawData = true;
    } else if (field === "event") this.event = value;
    else if (field === "id" && !value.includes("\0")) this.id = value;
    else if (field === "retry" && /^\d+$/.test(value)) this.sink.retry(Number(value));
  }
}

/**
 * Feed `body` into `sink` until it ends (resolves) or fails (rejects). `signal` ends the read
 * by cancelling the reader: aborting the fetch alone can leave a read pending forever in
 * Node (undici) when the server ends the body at the same moment (seen after
 * `sync.unauthorized`, which the server sends as the stream's last frame).
 */
export async function readSse(
  body: ReadableStream<Uint8Array>,
  sink: SseSink,
  signal?: AbortSignal,
): Promise<void> {
  const parser = new SseParser(sink);
  const decoder = new TextDecoder();
  const reader = body.getReader();
  const cancel = (): void => void reader.cancel().catch(() => undefined);
  if (signal?.aborted) cancel();
  signal?.addEventListener("abort", cancel, { once: true });
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      sink.alive?.();
      parser.push(decoder.decode(value, { stream: true }));
    }
  } finally {
    signal?.removeEventListener("abort", cancel);
    reader.releaseLock();
  }
}
