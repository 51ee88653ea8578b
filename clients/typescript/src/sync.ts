// A live handle on one workspace's event stream: fetch-based SSE (headers work, so does a
// ticket), resumed after any drop with Last-Event-ID (backoff with jitter), nothing missed
// and nothing twice (events at or before the last position seen are dropped); `sync.reset`
// refetches the workspace; `sync.unauthorized` or a 401 asks for a fresh credential;
// presence joined on open, refreshed well inside the TTL, left on close() and pagehide.
// In browsers the tabs that sync one workspace share one stream (tabs.ts): the tab holding
// the lock runs the stream below and hands every frame to the others, which apply it the
// same way (the same dedupe by sequence number, so a failover loses nothing and repeats
// nothing).
import { errorFrom, MechaMentalError, NotFoundError } from "./errors.js";
import type { Http } from "./http.js";
import type { SseFrame } from "./sse.js";
import { consumeStream, retryDelay, seqOf, userOfTicket, type StreamEnd } from "./stream.js";
import { canShareAcrossTabs, groupName, TabGroup, type TabMessage } from "./tabs.js";
import type { Member, StreamTicket, SyncEvent, SyncStatus, Workspace } from "./types.js";
import type { SyncHandlers, SyncOptions } from "./sync_options.js";
import { Members } from "./members.js";
import type { Workspaces } from "./workspaces.js";

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
  private readonly memberMap = new Members();
  private closed = false;
  private abort: AbortController | null = null;
  private serverRetryMs: number | null = null;
  private heartbeatMs = 15_000;
  private refreshTimer: ReturnType<typeof setInterval> | null = null;
  private viewing: [string, string] | null = null;
  private markReady!: () => void;
  private group: TabGroup | null = null;
  /** Sharing across tabs, and the group not joined yet (its name needs the credential's hash). */
  private grouping: boolean;
  /** A follower has the leader's state (frames before it are in it, so they are skipped). */
  private synced = false;
  private joined = false;
  /** The credential the open stream (or its ticket) was made with. */
  private streamToken: string | null = null;
  private readonly onPageHide = (): void => this.depart();

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
    this.grouping = (options.shareAcrossTabs ?? true) && canShareAcrossTabs();
    if (this.grouping) void this.joinGroup();
    else void this.run();
  }

  /** True while this handle holds the stream (always, unless it follows another tab's). */
  get leading(): boolean {
    return this.group === null ? !this.grouping : this.group.leading;
  }

  /** Join the tabs that sync this workspace with this credential; without one, a stream of its own. */
  private async joinGroup(): Promise<void> {
    let name: string;
    try {
      name = await groupName(this.http.baseUrl, this.http.orgId, this.workspaceId, await this.http.token());
    } catch (error) {
      this.grouping = false;
      this.handlers.onError?.(error);
      if (!this.closed) void this.run();
      return;
    }
    this.grouping = false;
    if (this.closed) return;
    this.group = new TabGroup(name, this.presenceOn, {
      message: (message) => this.shared(message),
      lead: () => this.lead(),
    });
  }

  members(): Member[] {
    return this.memberMap.list();
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
    this.group?.post({ kind: "viewing", viewing: this.viewing });
    await this.http.send("POST", `${this.base()}/presence/viewing`, {
      query: { resource_type: resourceType, resource_id: resourceId },
      body: null,
    });
  }

  async leave(keepalive = false): Promise<void> {
    this.viewing = null;
    await this.http.send("POST", `${this.base()}/presence/leave`, { body: null, keepalive });
  }

  /**
   * Stop the stream (another tab of the group takes it over); leaves presence (unless
   * `presence: false`, or another tab of this origin still keeps it).
   */
  close(): void {
    if (this.closed) return;
    this.depart();
    this.closed = true;
    this.abort?.abort();
    if (this.refreshTimer !== null) clearInterval(this.refreshTimer);
    if (typeof window !== "undefined") window.removeEventListener("pagehide", this.onPageHide);
    this.setStatus("closed");
  }

  /** The tab goes (close or pagehide): leave the group, and presence if the last one. */
  private depart(): void {
    if (this.closed) return;
    const othersPresent = this.group?.othersPresent ?? false;
    this.group?.close();
    if (this.presenceOn && !othersPresent) void this.leave(true).catch(() => undefined);
  }

  private setStatus(status: SyncStatus): void {
    if (this.status === status) return;
    this.status = status;
    if (this.group?.leading && status !== "closed") this.group.post({ kind: "status", status });
    this.handlers.onStatus?.(status);
  }

  /** This tab took the lock: resume the stream from the last event it applied. */
  private async lead(): Promise<void> {
    this.synced = true;
    if (this.status !== "connecting") this.setStatus("reconnecting"); // told to the other tabs
    await this.run();
  }

  /** A message from another tab of the group. */
  private shared(message: TabMessage): void {
    if (this.closed) return;
    switch (message.kind) {
      case "hello":
        if (!this.leading) return;
        this.group?.post({
          kind: "state",
          to: message.from,
          state: {
            status: this.status,
            workspace: this.workspace,
            members: this.members(),
            lastEventId: this.lastEventId,
            me: this.me,
            viewing: this.viewing,
          },
        });
        return;
      case "lead":
        if (!this.synced) this.group?.post({ kind: "hello", from: this.group.id, presence: this.presenceOn });
        return;
      case "state": {
        if (this.synced || this.leading) return;
        const { state } = message;
        this.synced = true;
        this.lastEventId = state.lastEventId;
        this.lastSeq = seqOf(state.lastEventId);
        this.me = state.me ?? this.me;
        this.viewing = this.viewing ?? state.viewing;
        this.memberMap.replace(state.members);
        if (state.workspace !== null) {
          this.setWorkspace(state.workspace);
          this.handlers.onMembers?.(this.members());
        }
        if (state.status === "live") this.becameLive();
        else if (state.status === "reconnecting") this.setStatus("reconnecting");
        return;
      }
      case "status":
        // "live" comes with the leader's sync.connected frame (workspace and members first).
        if (!this.synced || this.leading || message.status === "closed" || message.status === "live") return;
        this.setStatus(message.status);
        return;
      case "viewing":
        this.viewing = message.viewing;
        return;
      case "frame":
        // Frames before the leader's state are in it; a leader has its own stream.
        if (this.synced && !this.leading) this.apply(message.event, message.id, message.workspace);
        return;
      case "bye":
      case "here":
        return;
    }
  }

  /** Live (own stream or the leader's): ready; presence joined once by every tab. */
  private becameLive(): void {
    this.setStatus("live");
    this.markReady();
    if (this.presenceOn && !this.joined && !this.leading) {
      this.joined = true; // a leader joins (again) on each sync.connected of its stream
      void this.refreshPresence();
    }
  }

  private async open(signal: AbortSignal): Promise<Response> {
    const query: Record<string, string | number> = {};
    const sentWith = (token: string): void => void (this.streamToken = token);
    if (this.options.timeoutSeconds) query["timeout"] = this.options.timeoutSeconds;
    if (this.options.auth === "ticket") {
      const ticket = await this.http.json<StreamTicket>("POST", `${this.base()}/tickets`, { signal, sentWith });
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
    return this.http.send("GET", `${this.base()}/stream`, { query, headers, signal, sentWith });
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.closed) {
      const abort = (this.abort = new AbortController());
      let end: StreamEnd = "drop";
      let asked = 0; // the server's Retry-After (a stream cap, a rate limit, a 503), in ms
      try {
        const response = await this.open(abort.signal);
        if (!response.body) throw new Error("no response body");
        end = await this.consume(response.body, abort, () => (failures = 0));
      } catch (error) {
        if (this.closed) break;
        if (error instanceof NotFoundError) end = "stop";
        else if (error instanceof MechaMentalError && error.status === 401) await this.http.refresh(await this.http.token());
        if (error instanceof MechaMentalError && error.status !== 0) this.handlers.onError?.(error);
        if (error instanceof MechaMentalError && error.retryAfter !== null) asked = error.retryAfter * 1000;
      }
      abort.abort();
      if (this.closed) break;
      if (end === "stop") {
        this.close();
        break;
      }
      this.setStatus("reconnecting");
      if (end === "again") continue;
      await new Promise((resolve) => setTimeout(resolve, Math.max(asked, this.delay(failures++))));
    }
  }

  private delay(failures: number): number {
    return retryDelay(failures, this.options.minRetryMs ?? this.serverRetryMs ?? 1000, this.options.maxRetryMs ?? 30_000);
  }

  private consume(
    body: ReadableStream<Uint8Array>,
    abort: AbortController,
    live: () => void,
  ): Promise<StreamEnd> {
    return consumeStream(body, abort, {
      heartbeatMs: () => this.heartbeatMs,
      retry: (ms) => (this.serverRetryMs = ms),
      frame: (frame, stop) => this.frame(frame, stop, live),
      error: (error) => this.handlers.onError?.(error),
    });
  }

  /** A frame of this handle's own stream: apply it, hand it to the other tabs, act on it. */
  private async frame(frame: SseFrame, stop: (how: "again" | "stop") => void, live: () => void): Promise<void> {
    if (this.closed) return;
    const event = JSON.parse(frame.data) as SyncEvent;
    // A reset's refetch finishes before the next frame is told (frames are handled in order).
    const fresh = event.type === "sync.reset" ? await this.workspaces.get(this.workspaceId) : undefined;
    if (this.closed || !this.apply(event, frame.id, fresh)) return;
    if (this.group !== null) {
      const shared: TabMessage = { kind: "frame", id: frame.id, event };
      if (fresh !== undefined) shared.workspace = fresh;
      this.group.post(shared);
    }
    switch (event.type) {
      case "sync.connected":
        this.heartbeatMs = (event.data.heartbeat_seconds || 15) * 1000;
        live();
        if (this.presenceOn || this.group?.othersPresent) this.startPresence();
        break;
      case "sync.unauthorized":
        // The credential this stream was opened with is over: the next open asks for another.
        if (this.streamToken !== null) await this.http.refresh(this.streamToken);
        stop("again");
        break;
      case "sync.timeout":
        stop("again");
        break;
      case "workspace.deleted":
        stop("stop");
        break;
    }
  }

  /**
   * Apply one event (from this handle's stream or the leader's): false if already seen.
   * `fresh` is the workspace refetched after a `sync.reset`.
   */
  private apply(event: SyncEvent, id: string | undefined, fresh?: Workspace | null): boolean {
    if (this.closed) return false;
    const seq = seqOf(id);
    const synthetic = event.type.startsWith("sync.");
    if (!synthetic && seq !== null && this.lastSeq !== null && seq <= this.lastSeq) return false; // seen
    if (id !== undefined) {
      this.lastEventId = id;
      if (seq !== null) this.lastSeq = seq;
    }
    switch (event.type) {
      case "sync.connected":
        this.setWorkspace(event.data.workspace);
        this.memberMap.replace(event.data.presence.members);
        this.handlers.onMembers?.(this.members());
        this.becameLive();
        break;
      case "sync.reset":
        if (fresh !== undefined) {
          this.setWorkspace(fresh);
          if (fresh !== null) this.handlers.onReset?.(fresh);
        }
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
        break;
      case "presence.joined":
      case "presence.viewing":
        this.memberMap.apply(event);
        this.handlers.onMembers?.(this.members());
        break;
      case "presence.left":
        this.memberMap.apply(event);
        this.handlers.onMembers?.(this.members());
        if (event.data.user_id === this.me && this.presenceOn && this.leading) void this.refreshPresence();
        break;
    }
    this.handlers.onEvent?.(event);
    if (event.type === "workspace.deleted" && !this.leading) this.close(); // the leader stops too
    return true;
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
