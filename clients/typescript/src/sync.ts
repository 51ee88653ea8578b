// A live handle on one workspace's event stream: fetch-based SSE (headers work, so does a
// ticket), resumed after any drop with Last-Event-ID (backoff with jitter), nothing missed
// and nothing twice (events at or before the last position seen are dropped); `sync.reset`
// refetches the workspace; `sync.unauthorized` or a 401 asks for a fresh credential;
// presence joined on open, refreshed well inside the TTL, left on close() and pagehide.
import { errorFrom, MechaMentalError, NotFoundError } from "./errors.js";
import type { Http } from "./http.js";
import { readSse, type SseFrame } from "./sse.js";
import type { Member, StreamTicket, SyncEvent, SyncStatus, Workspace } from "./types.js";
import type { Workspaces } from "./workspaces.js";

export interface SyncHandlers {
  onEvent?(event: SyncEvent): void;
  onReset?(workspace: Workspace): void;
  onStatus?(status: SyncStatus): void;
  onMembers?(members: Member[]): void;
  onWorkspace?(workspace: Workspace | null): void;
  onError?(error: unknown): void;
}

export interface SyncOptions {
  /** Join presence on open, refresh it, leave on close (default true). */
  presence?: boolean;
  /** How often presence is refreshed (default 20 s: a third of the default 60 s TTL). */
  presenceRefreshSeconds?: number;
  /** `header` (Authorization on the stream's fetch, default) or `ticket` (`POST …/sync/tickets`). */
  auth?: "header" | "ticket";
  /** Reconnect delays: first retry about `minRetryMs` (default: the server's `retry:` hint), doubling to `maxRetryMs` (30 s), each with jitter. */
  minRetryMs?: number;
  maxRetryMs?: number;
  /** Resume from here instead of the stream's start. */
  lastEventId?: string;
  /** Stream lifetime asked of the server (`timeout`, seconds). */
  timeoutSeconds?: number;
}

const seqOf = (id: string | null | undefined): number | null => {
  if (!id) return null;
  const n = Number.parseInt(id.split("-")[0] ?? "", 10);
  return Number.isFinite(n) ? n : null;
};

export class SyncHandle {
  status: SyncStatus = "connecting";
  workspace: Workspace | null = null;
  /** The resume point: the id of the last frame that carried one. */
  lastEventId: string | null;
  /** The calling user, once known (from a stream ticket). */
  me: string | null = null;
  /** Resolves the first time the stream is live. */
  readonly ready: Promise<void>;
  private lastSeq: number | null;
  private readonly memberMap = new Map<string, Member>();
  private closed = false;
  private abort: AbortController | null = null;
  private serverRetryMs: number | null = null;
  private heartbeatMs = 15_000;
  private refreshTimer: ReturnType<typeof setInterval> | null = null;
  private viewing: [string, string] | null = null;
  private markReady!: () => void;
  private readonly onPageHide = (): void => void this.leave(true).catch(() => undefined);

  constructor(
    private readonly http: Http,
    private readonly workspaces: Workspaces,
    readonly workspaceId: string,
    private readonly handlers: SyncHandlers = {},
    private readonly options: SyncOptions = {},
  ) {
    this.lastEventId = options.lastEventId ?? null;
    this.lastSeq = seqOf(this.lastEventId);
    this.ready = new Promise((resolve) => (this.markReady = resolve));
    if (typeof window !== "undefined") window.addEventListener("pagehide", this.onPageHide);
    void this.run();
  }

  members(): Member[] {
    return [...this.memberMap.values()];
  }

  private get presenceOn(): boolean {
    return this.options.presence ?? true;
  }

  private base(): string {
    return this.http.orgPath(`/workspaces/${encodeURIComponent(this.workspaceId)}/sync`);
  }

  async join(): Promise<void> {
    await this.http.send("POST", `${this.base()}/presence/join`, { body: null });
  }

  /** Announce the resource this user views (refreshed with presence while the handle is open). */
  async view(resourceType: string, resourceId: string): Promise<void> {
    this.viewing = [resourceType, resourceId];
    await this.http.send("POST", `${this.base()}/presence/viewing`, {
      query: { resource_type: resourceType, resource_id: resourceId },
      body: null,
    });
  }

  async leave(keepalive = false): Promise<void> {
    this.viewing = null;
    await this.http.send("POST", `${this.base()}/presence/leave`, { body: null, keepalive });
  }

  /** Stop the stream; leaves presence (unless `presence: false`). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.abort?.abort();
    if (this.refreshTimer !== null) clearInterval(this.refreshTimer);
    if (typeof window !== "undefined") window.removeEventListener("pagehide", this.onPageHide);
    if (this.presenceOn) void this.leave(true).catch(() => undefined);
    this.setStatus("closed");
  }

  private setStatus(status: SyncStatus): void {
    if (this.status === status) return;
    this.status = status;
    this.handlers.onStatus?.(status);
  }

  private async open(signal: AbortSignal): Promise<Response> {
    const query: Record<string, string | number> = {};
    if (this.options.timeoutSeconds) query["timeout"] = this.options.timeoutSeconds;
    if (this.options.auth === "ticket") {
      const ticket = await this.http.json<StreamTicket>("POST", `${this.base()}/tickets`, { signal });
      this.me = userOfTicket(ticket.ticket) ?? this.me;
      const url = new URL(this.http.baseUrl + ticket.stream_url);
      for (const [k, v] of Object.entries(query)) url.searchParams.set(k, String(v));
      if (this.lastEventId) url.searchParams.set("last_event_id", this.lastEventId);
      const response = await this.http.fetch(url, { signal, headers: { Accept: "text/event-stream" } });
      if (!response.ok) throw await errorFrom(response);
      return response;
    }
    const headers: Record<string, string> = { Accept: "text/event-stream" };
    if (this.lastEventId) headers["Last-Event-ID"] = this.lastEventId;
    return this.http.send("GET", `${this.base()}/stream`, { query, headers, signal });
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.closed) {
      const abort = (this.abort = new AbortController());
      let end: "drop" | "again" | "stop" = "drop";
      try {
        const response = await this.open(abort.signal);
        if (!response.body) throw new Error("no response body");
        end = await this.consume(response.body, abort, () => (failures = 0));
      } catch (error) {
        if (this.closed) break;
        if (error instanceof NotFoundError) end = "stop";
        else if (error instanceof MechaMentalError && error.status === 401) await this.http.refresh(await this.http.token());
        if (error instanceof MechaMentalError && error.status !== 0) this.handlers.onError?.(error);
      }
      abort.abort();
      if (this.closed) break;
      if (end === "stop") {
        this.close();
        break;
      }
      this.setStatus("reconnecting");
      if (end === "again") continue;
      await this.sleep(this.delay(failures++));
    }
  }

  private delay(failures: number): number {
    const base = this.options.minRetryMs ?? this.serverRetryMs ?? 1000;
    const cap = this.options.maxRetryMs ?? 30_000;
    const ceiling = Math.min(cap, base * 2 ** Math.min(failures, 16));
    return ceiling / 2 + Math.random() * (ceiling / 2); // "equal jitter": never all at once
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  private consume(
    body: ReadableStream<Uint8Array>,
    abort: AbortController,
    live: () => void,
  ): Promise<"drop" | "again" | "stop"> {
    let end: "drop" | "again" | "stop" = "drop";
    let pending: Promise<void> = Promise.resolve();
    const stop = (how: "again" | "stop"): void => {
      end = how;
      abort.abort();
    };
    // A connection that goes silent (no heartbeat for 2.5 of its intervals) is dropped.
    let watchdog: ReturnType<typeof setTimeout> | undefined;
    const alive = (): void => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => abort.abort(), this.heartbeatMs * 2.5);
    };
    alive();
    const reading = readSse(body, {
      alive,
      retry: (ms) => (this.serverRetryMs = ms),
      frame: (frame) => {
        // Handled in order: a reset's refetch finishes before the next frame is told.
        pending = pending.then(() => this.frame(frame, stop, live)).catch((e) => this.handlers.onError?.(e));
      },
    });
    const done = (): Promise<"drop" | "again" | "stop"> => {
      clearTimeout(watchdog);
      return pending.then(() => end);
    };
    return reading.then(done, done);
  }

  private async frame(frame: SseFrame, stop: (how: "again" | "stop") => void, live: () => void): Promise<void> {
    if (this.closed) return;
    const event = JSON.parse(frame.data) as SyncEvent;
    const seq = seqOf(frame.id);
    const synthetic = event.type.startsWith("sync.");
    if (!synthetic && seq !== null && this.lastSeq !== null && seq <= this.lastSeq) return; // seen
    if (frame.id !== undefined) {
      this.lastEventId = frame.id;
      if (seq !== null) this.lastSeq = seq;
    }
    switch (event.type) {
      case "sync.connected":
        this.heartbeatMs = (event.data.heartbeat_seconds || 15) * 1000;
        this.setWorkspace(event.data.workspace);
        this.memberMap.clear();
        for (const m of event.data.presence.members) this.memberMap.set(m.user_id, m);
        this.handlers.onMembers?.(this.members());
        live();
        this.setStatus("live");
        this.markReady();
        if (this.presenceOn) this.startPresence();
        break;
      case "sync.reset": {
        const fresh = await this.workspaces.get(this.workspaceId);
        this.setWorkspace(fresh);
        this.handlers.onReset?.(fresh);
        break;
      }
      case "sync.unauthorized":
        await this.http.refresh(await this.http.token());
        stop("again");
        break;
      case "sync.timeout":
        stop("again");
        break;
      case "workspace.created":
      case "workspace.updated":
        this.setWorkspace(event.data.workspace);
        break;
      case "workspace.bucket_status_changed":
        if (this.workspace) this.setWorkspace({ ...this.workspace, ...event.data } as Workspace);
        break;
      case "workspace.deleted":
        this.setWorkspace(null);
        stop("stop");
        break;
      case "presence.joined": {
        const before = this.memberMap.get(event.data.user_id);
        this.memberMap.set(event.data.user_id, {
          user_id: event.data.user_id,
          connections: before?.connections ?? 0,
          viewing: event.data.viewing,
          since: event.data.since,
        });
        this.handlers.onMembers?.(this.members());
        break;
      }
      case "presence.left":
        this.memberMap.delete(event.data.user_id);
        this.handlers.onMembers?.(this.members());
        if (event.data.user_id === this.me && this.presenceOn && !this.closed) void this.refreshPresence();
        break;
      case "presence.viewing": {
        const before = this.memberMap.get(event.data.user_id);
        if (before) this.memberMap.set(event.data.user_id, { ...before, viewing: event.data.viewing });
        this.handlers.onMembers?.(this.members());
        break;
      }
    }
    this.handlers.onEvent?.(event);
  }

  private setWorkspace(workspace: Workspace | null): void {
    this.workspace = workspace;
    this.handlers.onWorkspace?.(workspace);
  }

  private startPresence(): void {
    void this.refreshPresence();
    if (this.refreshTimer !== null) return;
    const every = (this.options.presenceRefreshSeconds ?? 20) * 1000;
    this.refreshTimer = setInterval(() => void this.refreshPresence(), every);
    (this.refreshTimer as { unref?: () => void }).unref?.();
  }

  private async refreshPresence(): Promise<void> {
    if (this.closed) return;
    try {
      if (this.viewing) await this.view(...this.viewing);
      else await this.join();
    } catch (error) {
      this.handlers.onError?.(error);
    }
  }
}

/** The user a stream ticket was made for (its `sub`; read, not verified: the server does). */
function userOfTicket(ticket: string): string | null {
  try {
    const part = ticket.split(".")[1] ?? "";
    const json = atob(part.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(part.length / 4) * 4, "="));
    const sub = (JSON.parse(json) as { sub?: unknown }).sub;
    return typeof sub === "string" ? sub : null;
  } catch {
    return null;
  }
}
