// The pieces of one stream connection that need no handle state: reading its frames in
// order with a watchdog on silence, the reconnect delay, and reading event ids and tickets.
import { readSse, type SseFrame } from "./sse.js";

/** How a connection ended: dropped (retry after a delay), again (at once), stop (for good). */
export type StreamEnd = "drop" | "again" | "stop";

export interface StreamSink {
  /** The heartbeat interval now (the connection is dropped after 2.5 of them in silence). */
  heartbeatMs(): number;
  retry(ms: number): void;
  /** One frame; `stop` ends the connection after it. Frames are handled one after another. */
  frame(frame: SseFrame, stop: (how: "again" | "stop") => void): Promise<void>;
  error(error: unknown): void;
}

/** Read `body` until it ends, fails, or a frame stops it; then every frame has been handled. */
export function consumeStream(
  body: ReadableStream<Uint8Array>,
  abort: AbortController,
  sink: StreamSink,
): Promise<StreamEnd> {
  let end: StreamEnd = "drop";
  let pending: Promise<void> = Promise.resolve();
  const stop = (how: "again" | "stop"): void => {
    end = how;
    abort.abort();
  };
  let watchdog: ReturnType<typeof setTimeout> | undefined;
  const alive = (): void => {
    clearTimeout(watchdog);
    watchdog = setTimeout(() => abort.abort(), sink.heartbeatMs() * 2.5);
  };
  alive();
  const reading = readSse(
    body,
    {
      alive,
      retry: (ms) => sink.retry(ms),
      frame: (frame) => {
        // Handled in order: a reset's refetch finishes before the next frame is told.
        pending = pending.then(() => sink.frame(frame, stop)).catch((e) => sink.error(e));
      },
    },
    abort.signal,
  );
  const done = (): Promise<StreamEnd> => {
    clearTimeout(watchdog);
    return pending.then(() => end);
  };
  return reading.then(done, done);
}

/** Reconnect delay: about `base` doubling to `cap`, with "equal jitter" (never all at once). */
export function retryDelay(failures: number, base: number, cap: number): number {
  const ceiling = Math.min(cap, base * 2 ** Math.min(failures, 16));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

/** The workspace sequence number that starts an event id (`<seq>-<suffix>`). */
export const seqOf = (id: string | null | undefined): number | null => {
  if (!id) return null;
  const n = Number.parseInt(id.split("-")[0] ?? "", 10);
  return Number.isFinite(n) ? n : null;
};

/** The user a stream ticket was made for (its `sub`; read, not verified: the server does). */
export function userOfTicket(ticket: string): string | null {
  try {
    const part = ticket.split(".")[1] ?? "";
    const json = atob(part.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(part.length / 4) * 4, "="));
    const sub = (JSON.parse(json) as { sub?: unknown }).sub;
    return typeof sub === "string" ? sub : null;
  } catch {
    return null;
  }
}
