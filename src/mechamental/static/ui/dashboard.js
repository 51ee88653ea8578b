// Built by ui/dashboard/build.mjs (make ui) from ui/dashboard/src and clients/typescript/src: do not edit.

// src/dom.ts
function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (typeof value === "function") element.addEventListener(name.slice(2), value);
    else if (value === true) element.setAttribute(name, "");
    else if (value !== false && value !== null && value !== void 0) element.setAttribute(name, String(value));
  }
  append(element, children);
  return element;
}
function append(parent, children) {
  for (const child of children) {
    if (child === null || child === void 0 || child === false) continue;
    parent.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
  }
}
function fill(parent, ...children) {
  parent.replaceChildren();
  append(parent, children);
}
function time(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}
function show(value) {
  if (value === null || value === void 0) return "—";
  if (Array.isArray(value)) return value.length ? value.map(String).join(", ") : "(none)";
  if (typeof value === "string") return `“${value}”`;
  return String(value);
}
function bucketBadge(status) {
  return h("span", { class: `badge bucket-${status}`, "data-status": status }, status);
}
function announce(text) {
  const region = document.getElementById("announcer");
  if (region) region.textContent = text;
}

// ../../clients/typescript/src/errors.ts
var MechaMentalError = class extends Error {
  status;
  code;
  details;
  requestId;
  body;
  /** Seconds the server asked to wait (`Retry-After` on 429 and 503), or null. */
  retryAfter;
  constructor(init) {
    super(init.message);
    this.name = new.target.name;
    this.status = init.status;
    this.code = init.code;
    this.details = init.details ?? {};
    this.requestId = init.requestId ?? null;
    this.body = init.body;
    const hinted = this.details["retry_after_seconds"];
    this.retryAfter = init.retryAfter ?? (typeof hinted === "number" ? hinted : null);
  }
};
var ValidationError = class extends MechaMentalError {
  detail;
  constructor(init) {
    super(init);
    this.detail = init.detail;
  }
};
var ConflictError = class extends MechaMentalError {
};
var AuthenticationError = class extends MechaMentalError {
};
var ForbiddenError = class extends MechaMentalError {
};
var NotFoundError = class extends MechaMentalError {
};
var RateLimitError = class extends MechaMentalError {
};
var NetworkError = class extends MechaMentalError {
};
var CLASSES = {
  401: AuthenticationError,
  403: ForbiddenError,
  404: NotFoundError,
  412: ConflictError,
  429: RateLimitError
};
function retryAfterSeconds(header, now = Date.now()) {
  if (header === null || header.trim() === "") return null;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value);
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, (at - now) / 1e3);
}
async function errorFrom(response) {
  const requestId = response.headers.get("x-request-id");
  const retryAfter = retryAfterSeconds(response.headers.get("retry-after"));
  const text = await response.text().catch(() => "");
  let body = text;
  try {
    body = JSON.parse(text);
  } catch {
  }
  const status = response.status;
  const obj = typeof body === "object" && body !== null ? body : {};
  if (status === 422 && Array.isArray(obj["detail"])) {
    const detail = obj["detail"];
    const message2 = detail.map((d) => `${(d.loc ?? []).join(".")}: ${d.msg}`).join("; ");
    return new ValidationError({ status, code: "VALIDATION_ERROR", message: message2, requestId, body, detail, retryAfter });
  }
  const code = typeof obj["error"] === "string" ? obj["error"] : `HTTP_${status}`;
  const message = typeof obj["message"] === "string" ? obj["message"] : response.statusText || code;
  const details = typeof obj["details"] === "object" && obj["details"] !== null ? obj["details"] : {};
  const Class = CLASSES[status] ?? MechaMentalError;
  return new Class({ status, code, message, details, requestId, body, retryAfter });
}

// ../../clients/typescript/src/http.ts
var Http = class {
  baseUrl;
  orgId;
  fixed;
  getToken;
  current = null;
  fetch;
  constructor(options) {
    if (!options.token && !options.getToken) throw new TypeError("token or getToken is required");
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.orgId = options.orgId;
    this.fixed = options.token;
    this.getToken = options.getToken;
    const f = options.fetch ?? globalThis.fetch;
    this.fetch = (input, init) => f(input, init);
  }
  /** The credential now (shared while a `getToken()` call is in flight). */
  token() {
    if (this.getToken === void 0) return Promise.resolve(this.fixed);
    if (this.current === null) {
      const asked = Promise.resolve().then(() => this.getToken());
      this.current = asked;
      asked.catch(() => {
        if (this.current === asked) this.current = null;
      });
    }
    return this.current;
  }
  /** Forget `refused` so the next `token()` asks `getToken()` again; false with a fixed token. */
  async refresh(refused) {
    if (this.getToken === void 0) return false;
    const held = this.current ? await this.current.catch(() => null) : null;
    if (held === refused || held === null) this.current = null;
    return true;
  }
  orgPath(path) {
    return `/v1/orgs/${encodeURIComponent(this.orgId)}${path}`;
  }
  url(path, query) {
    const search = new URLSearchParams();
    for (const [k, v] of Object.entries(query ?? {})) {
      if (v !== void 0 && v !== null) search.set(k, String(v));
    }
    const qs = search.toString();
    return this.baseUrl + path + (qs ? `?${qs}` : "");
  }
  /** Send; a 401 asks `getToken()` once more and retries. Non-2xx throws a typed error. */
  async send(method, path, options = {}) {
    for (let attempt = 0; ; attempt++) {
      const token = await this.token();
      options.sentWith?.(token);
      const headers = { Authorization: `Bearer ${token}`, ...options.headers };
      const init = { method, headers };
      if (options.body !== void 0) {
        headers["Content-Type"] = "application/json";
        init.body = JSON.stringify(options.body);
      }
      if (options.signal) init.signal = options.signal;
      if (options.keepalive) init.keepalive = true;
      let response;
      try {
        response = await this.fetch(this.url(path, options.query), init);
      } catch (cause) {
        if (options.signal?.aborted) throw cause;
        throw new NetworkError({ status: 0, code: "NETWORK_ERROR", message: String(cause) });
      }
      if (response.status === 401 && attempt === 0 && await this.refresh(token)) {
        await response.body?.cancel().catch(() => void 0);
        continue;
      }
      if (!response.ok && response.status !== 304) throw await errorFrom(response);
      return response;
    }
  }
  async json(method, path, options = {}) {
    const response = await this.send(method, path, options);
    return await response.json();
  }
};

// ../../clients/typescript/src/sse.ts
var SseParser = class {
  constructor(sink) {
    this.sink = sink;
  }
  sink;
  buffer = "";
  data = [];
  event = "";
  id = void 0;
  sawData = false;
  push(text) {
    this.buffer += text;
    let start2 = 0;
    for (; ; ) {
      const nl = this.buffer.slice(start2).search(/\r\n|\r|\n/);
      if (nl < 0) break;
      const end = start2 + nl;
      if (this.buffer[end] === "\r" && end + 1 === this.buffer.length) break;
      const width = this.buffer.startsWith("\r\n", end) ? 2 : 1;
      this.line(this.buffer.slice(start2, end));
      start2 = end + width;
    }
    this.buffer = this.buffer.slice(start2);
  }
  line(line) {
    if (line === "") {
      if (this.sawData || this.event) {
        this.sink.frame({ id: this.id, event: this.event || "message", data: this.data.join("\n") });
      }
      this.data = [];
      this.event = "";
      this.id = void 0;
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
};
async function readSse(body, sink, signal) {
  const parser = new SseParser(sink);
  const decoder = new TextDecoder();
  const reader = body.getReader();
  const cancel = () => void reader.cancel().catch(() => void 0);
  if (signal?.aborted) cancel();
  signal?.addEventListener("abort", cancel, { once: true });
  try {
    for (; ; ) {
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

// ../../clients/typescript/src/stream.ts
function consumeStream(body, abort, sink) {
  let end = "drop";
  let pending = Promise.resolve();
  const stop = (how) => {
    end = how;
    abort.abort();
  };
  let watchdog;
  const alive = () => {
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
        pending = pending.then(() => sink.frame(frame, stop)).catch((e) => sink.error(e));
      }
    },
    abort.signal
  );
  const done = () => {
    clearTimeout(watchdog);
    return pending.then(() => end);
  };
  return reading.then(done, done);
}
function retryDelay(failures, base, cap) {
  const ceiling = Math.min(cap, base * 2 ** Math.min(failures, 16));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}
var seqOf = (id) => {
  if (!id) return null;
  const n = Number.parseInt(id.split("-")[0] ?? "", 10);
  return Number.isFinite(n) ? n : null;
};
function userOfTicket(ticket) {
  try {
    const part = ticket.split(".")[1] ?? "";
    const json = atob(part.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(part.length / 4) * 4, "="));
    const sub = JSON.parse(json).sub;
    return typeof sub === "string" ? sub : null;
  } catch {
    return null;
  }
}

// ../../clients/typescript/src/tabs.ts
function lockManager() {
  const locks = globalThis.navigator?.locks;
  return locks && typeof locks.request === "function" ? locks : null;
}
function canShareAcrossTabs() {
  return typeof globalThis.window !== "undefined" && lockManager() !== null && typeof globalThis.BroadcastChannel === "function" && typeof globalThis.crypto?.subtle?.digest === "function";
}
async function groupName(baseUrl, orgId, workspaceId, credential) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(credential));
  const holder = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `mechamental:sync:${JSON.stringify([baseUrl, orgId, workspaceId, holder])}`;
}
var newId = () => typeof crypto !== "undefined" && typeof crypto.randomUUID === "function" ? crypto.randomUUID() : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
var TabGroup = class {
  constructor(name, presence, sink) {
    this.name = name;
    this.presence = presence;
    this.sink = sink;
    this.channel = new BroadcastChannel(name);
    this.channel.onmessage = (message) => this.receive(message.data);
    this.post({ kind: "hello", from: this.id, presence });
    const locks = lockManager();
    locks.request(name, { signal: this.abort.signal }, async () => {
      if (this.closed) return;
      this.leading = true;
      this.post({ kind: "lead", from: this.id });
      try {
        await this.sink.lead();
      } finally {
        this.leading = false;
      }
    }).catch(() => void 0);
  }
  name;
  presence;
  sink;
  id = newId();
  /** The other tabs of the group that said hello (and whether they hold presence). */
  others = /* @__PURE__ */ new Map();
  leading = false;
  channel;
  abort = new AbortController();
  closed = false;
  /** Another tab of this group that keeps presence is still open. */
  get othersPresent() {
    for (const other of this.others.values()) if (other.presence) return true;
    return false;
  }
  post(message) {
    if (this.closed) return;
    this.channel.postMessage(message);
  }
  receive(message) {
    if (this.closed) return;
    switch (message.kind) {
      case "hello":
        this.others.set(message.from, { presence: message.presence });
        this.post({ kind: "here", from: this.id, presence: this.presence });
        break;
      case "here":
        this.others.set(message.from, { presence: message.presence });
        return;
      case "bye":
        this.others.delete(message.from);
        break;
      case "state":
        if (message.to !== this.id) return;
        break;
    }
    this.sink.message(message);
  }
  /** Leave the group: say so, stop waiting for the lock (a held one goes with the stream). */
  close() {
    if (this.closed) return;
    this.post({ kind: "bye", from: this.id });
    this.closed = true;
    this.abort.abort();
    this.channel.close();
  }
};

// ../../clients/typescript/src/members.ts
var Members = class {
  byUser = /* @__PURE__ */ new Map();
  list() {
    return [...this.byUser.values()];
  }
  replace(members) {
    this.byUser.clear();
    for (const m of members) this.byUser.set(m.user_id, m);
  }
  apply(event) {
    const before = this.byUser.get(event.data.user_id);
    switch (event.type) {
      case "presence.joined":
        this.byUser.set(event.data.user_id, {
          user_id: event.data.user_id,
          connections: before?.connections ?? 0,
          viewing: event.data.viewing,
          since: event.data.since
        });
        return;
      case "presence.left":
        this.byUser.delete(event.data.user_id);
        return;
      case "presence.viewing":
        if (before) this.byUser.set(event.data.user_id, { ...before, viewing: event.data.viewing });
        return;
    }
  }
};

// ../../clients/typescript/src/sync.ts
var SyncHandle = class {
  constructor(http, workspaces, workspaceId, handlers = {}, options = {}) {
    this.http = http;
    this.workspaces = workspaces;
    this.workspaceId = workspaceId;
    this.handlers = handlers;
    this.options = options;
    this.lastEventId = options.lastEventId ?? null;
    this.lastSeq = seqOf(this.lastEventId);
    this.ready = new Promise((resolve) => this.markReady = resolve);
    if (typeof window !== "undefined") window.addEventListener("pagehide", this.onPageHide);
    this.grouping = (options.shareAcrossTabs ?? true) && canShareAcrossTabs();
    if (this.grouping) void this.joinGroup();
    else void this.run();
  }
  http;
  workspaces;
  workspaceId;
  handlers;
  options;
  status = "connecting";
  workspace = null;
  /** The resume point: the id of the last frame that carried one. */
  lastEventId;
  /** The calling user, once known (from a stream ticket). */
  me = null;
  /** Resolves the first time the stream is live. */
  ready;
  lastSeq;
  memberMap = new Members();
  closed = false;
  abort = null;
  serverRetryMs = null;
  heartbeatMs = 15e3;
  refreshTimer = null;
  viewing = null;
  markReady;
  group = null;
  /** Sharing across tabs, and the group not joined yet (its name needs the credential's hash). */
  grouping;
  /** A follower has the leader's state (frames before it are in it, so they are skipped). */
  synced = false;
  joined = false;
  /** The credential the open stream (or its ticket) was made with. */
  streamToken = null;
  onPageHide = () => this.depart();
  /** True while this handle holds the stream (always, unless it follows another tab's). */
  get leading() {
    return this.group === null ? !this.grouping : this.group.leading;
  }
  /** Join the tabs that sync this workspace with this credential; without one, a stream of its own. */
  async joinGroup() {
    let name;
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
      lead: () => this.lead()
    });
  }
  members() {
    return this.memberMap.list();
  }
  get presenceOn() {
    return this.options.presence ?? true;
  }
  base() {
    return this.http.orgPath(`/workspaces/${encodeURIComponent(this.workspaceId)}/sync`);
  }
  async join() {
    await this.http.send("POST", `${this.base()}/presence/join`, { body: null });
  }
  /** Announce the resource this user views (refreshed with presence while the handle is open). */
  async view(resourceType, resourceId) {
    this.viewing = [resourceType, resourceId];
    this.group?.post({ kind: "viewing", viewing: this.viewing });
    await this.http.send("POST", `${this.base()}/presence/viewing`, {
      query: { resource_type: resourceType, resource_id: resourceId },
      body: null
    });
  }
  async leave(keepalive = false) {
    this.viewing = null;
    await this.http.send("POST", `${this.base()}/presence/leave`, { body: null, keepalive });
  }
  /**
   * Stop the stream (another tab of the group takes it over); leaves presence (unless
   * `presence: false`, or another tab of this origin still keeps it).
   */
  close() {
    if (this.closed) return;
    this.depart();
    this.closed = true;
    this.abort?.abort();
    if (this.refreshTimer !== null) clearInterval(this.refreshTimer);
    if (typeof window !== "undefined") window.removeEventListener("pagehide", this.onPageHide);
    this.setStatus("closed");
  }
  /** The tab goes (close or pagehide): leave the group, and presence if the last one. */
  depart() {
    if (this.closed) return;
    const othersPresent = this.group?.othersPresent ?? false;
    this.group?.close();
    if (this.presenceOn && !othersPresent) void this.leave(true).catch(() => void 0);
  }
  setStatus(status) {
    if (this.status === status) return;
    this.status = status;
    if (this.group?.leading && status !== "closed") this.group.post({ kind: "status", status });
    this.handlers.onStatus?.(status);
  }
  /** This tab took the lock: resume the stream from the last event it applied. */
  async lead() {
    this.synced = true;
    if (this.status !== "connecting") this.setStatus("reconnecting");
    await this.run();
  }
  /** A message from another tab of the group. */
  shared(message) {
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
            viewing: this.viewing
          }
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
        if (!this.synced || this.leading || message.status === "closed" || message.status === "live") return;
        this.setStatus(message.status);
        return;
      case "viewing":
        this.viewing = message.viewing;
        return;
      case "frame":
        if (this.synced && !this.leading) this.apply(message.event, message.id, message.workspace);
        return;
      case "bye":
      case "here":
        return;
    }
  }
  /** Live (own stream or the leader's): ready; presence joined once by every tab. */
  becameLive() {
    this.setStatus("live");
    this.markReady();
    if (this.presenceOn && !this.joined && !this.leading) {
      this.joined = true;
      void this.refreshPresence();
    }
  }
  async open(signal) {
    const query = {};
    const sentWith = (token) => void (this.streamToken = token);
    if (this.options.timeoutSeconds) query["timeout"] = this.options.timeoutSeconds;
    if (this.options.auth === "ticket") {
      const ticket = await this.http.json("POST", `${this.base()}/tickets`, { signal, sentWith });
      this.me = userOfTicket(ticket.ticket) ?? this.me;
      const url = new URL(this.http.baseUrl + ticket.stream_url);
      for (const [k, v] of Object.entries(query)) url.searchParams.set(k, String(v));
      if (this.lastEventId) url.searchParams.set("last_event_id", this.lastEventId);
      const response = await this.http.fetch(url, { signal, headers: { Accept: "text/event-stream" } });
      if (!response.ok) throw await errorFrom(response);
      return response;
    }
    const headers = { Accept: "text/event-stream" };
    if (this.lastEventId) headers["Last-Event-ID"] = this.lastEventId;
    return this.http.send("GET", `${this.base()}/stream`, { query, headers, signal, sentWith });
  }
  async run() {
    let failures = 0;
    while (!this.closed) {
      const abort = this.abort = new AbortController();
      let end = "drop";
      let asked = 0;
      try {
        const response = await this.open(abort.signal);
        if (!response.body) throw new Error("no response body");
        end = await this.consume(response.body, abort, () => failures = 0);
      } catch (error) {
        if (this.closed) break;
        if (error instanceof NotFoundError) end = "stop";
        else if (error instanceof MechaMentalError && error.status === 401) await this.http.refresh(await this.http.token());
        if (error instanceof MechaMentalError && error.status !== 0) this.handlers.onError?.(error);
        if (error instanceof MechaMentalError && error.retryAfter !== null) asked = error.retryAfter * 1e3;
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
  delay(failures) {
    return retryDelay(failures, this.options.minRetryMs ?? this.serverRetryMs ?? 1e3, this.options.maxRetryMs ?? 3e4);
  }
  consume(body, abort, live) {
    return consumeStream(body, abort, {
      heartbeatMs: () => this.heartbeatMs,
      retry: (ms) => this.serverRetryMs = ms,
      frame: (frame, stop) => this.frame(frame, stop, live),
      error: (error) => this.handlers.onError?.(error)
    });
  }
  /** A frame of this handle's own stream: apply it, hand it to the other tabs, act on it. */
  async frame(frame, stop, live) {
    if (this.closed) return;
    const event = JSON.parse(frame.data);
    const fresh = event.type === "sync.reset" ? await this.workspaces.get(this.workspaceId) : void 0;
    if (this.closed || !this.apply(event, frame.id, fresh)) return;
    if (this.group !== null) {
      const shared = { kind: "frame", id: frame.id, event };
      if (fresh !== void 0) shared.workspace = fresh;
      this.group.post(shared);
    }
    switch (event.type) {
      case "sync.connected":
        this.heartbeatMs = (event.data.heartbeat_seconds || 15) * 1e3;
        live();
        if (this.presenceOn || this.group?.othersPresent) this.startPresence();
        break;
      case "sync.unauthorized":
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
  apply(event, id, fresh) {
    if (this.closed) return false;
    const seq = seqOf(id);
    const synthetic = event.type.startsWith("sync.");
    if (!synthetic && seq !== null && this.lastSeq !== null && seq <= this.lastSeq) return false;
    if (id !== void 0) {
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
        if (fresh !== void 0) {
          this.setWorkspace(fresh);
          if (fresh !== null) this.handlers.onReset?.(fresh);
        }
        break;
      case "workspace.created":
      case "workspace.updated":
        this.setWorkspace(event.data.workspace);
        break;
      case "workspace.bucket_status_changed":
        if (this.workspace) this.setWorkspace({ ...this.workspace, ...event.data });
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
    if (event.type === "workspace.deleted" && !this.leading) this.close();
    return true;
  }
  setWorkspace(workspace) {
    this.workspace = workspace;
    this.handlers.onWorkspace?.(workspace);
  }
  startPresence() {
    void this.refreshPresence();
    if (this.refreshTimer !== null) return;
    const every = (this.options.presenceRefreshSeconds ?? 20) * 1e3;
    this.refreshTimer = setInterval(() => void this.refreshPresence(), every);
    this.refreshTimer.unref?.();
  }
  async refreshPresence() {
    if (this.closed) return;
    try {
      if (this.viewing) await this.view(...this.viewing);
      else await this.join();
    } catch (error) {
      this.handlers.onError?.(error);
    }
  }
};

// ../../clients/typescript/src/workspaces.ts
function newIdempotencyKey() {
  return globalThis.crypto.randomUUID();
}
var Workspaces = class {
  constructor(http) {
    this.http = http;
  }
  http;
  /** ETags of the last read of each workspace (get, update). */
  etags = /* @__PURE__ */ new Map();
  path(id) {
    return this.http.orgPath(id === void 0 ? "/workspaces" : `/workspaces/${encodeURIComponent(id)}`);
  }
  /** The ETag remembered for `id` (from its last get or update), if any. */
  etag(id) {
    return this.etags.get(id);
  }
  listPage(params = {}) {
    return this.http.json("GET", this.path(), { query: params });
  }
  /** Every workspace matching `filters`, newest first, page after page. */
  async *list(filters = {}) {
    const { pageSize, ...rest } = filters;
    let cursor = null;
    do {
      const page = await this.listPage({ ...rest, limit: pageSize ?? 100, cursor });
      yield* page.workspaces;
      cursor = page.has_more ? page.next_cursor ?? null : null;
    } while (cursor !== null);
  }
  /** Create; a retried call with the same key never creates twice (a key is made when absent). */
  create(body, options = {}) {
    const key = options.idempotencyKey ?? newIdempotencyKey();
    return this.http.json("POST", this.path(), { body, headers: { "Idempotency-Key": key } });
  }
  async get(id) {
    const response = await this.http.send("GET", this.path(id));
    this.remember(id, response);
    return await response.json();
  }
  /** `ifMatch`: default the ETag of the last read; `null` sends none (unconditional). */
  async update(id, patch, options = {}) {
    const response = await this.http.send("PUT", this.path(id), {
      body: patch,
      headers: this.ifMatch(id, options.ifMatch)
    });
    this.remember(id, response);
    return await response.json();
  }
  async delete(id, options = {}) {
    const response = await this.http.send("DELETE", this.path(id), { headers: this.ifMatch(id, options.ifMatch) });
    this.etags.delete(id);
    return await response.json();
  }
  /** Who is present now, with each member's open connections (across every process). */
  presence(id) {
    return this.http.json("GET", `${this.path(id)}/sync/presence`);
  }
  ifMatch(id, given) {
    const tag = given === void 0 ? this.etags.get(id) : given;
    return tag ? { "If-Match": tag } : {};
  }
  remember(id, response) {
    const tag = response.headers.get("etag");
    if (tag) this.etags.set(id, tag);
  }
};

// ../../clients/typescript/src/index.ts
var MechaMental = class {
  workspaces;
  /** @internal */
  http;
  constructor(options) {
    this.http = new Http(options);
    this.workspaces = new Workspaces(this.http);
  }
  /** A live handle on the workspace's events and presence (see SyncHandle). */
  sync(workspaceId, handlers = {}, options = {}) {
    return new SyncHandle(this.http, this.workspaces, workspaceId, handlers, options);
  }
};

// src/form.ts
var SPECS = [
  { name: "name", label: "Name", kind: "text" },
  { name: "description", label: "Description", kind: "textarea" },
  { name: "subscription_plan_id", label: "Plan", kind: "text" },
  { name: "tags", label: "Tags", hint: "comma-separated: lowercase letters, digits, . _ : -", kind: "text" },
  { name: "region", label: "Region", hint: "empty: the server's default", kind: "text" },
  { name: "is_active", label: "Active", kind: "checkbox" }
];
var WorkspaceForm = class {
  element;
  inputs = /* @__PURE__ */ new Map();
  errors = /* @__PURE__ */ new Map();
  formError;
  /** `prefix` keeps ids unique; `readOnly` fields are shown but not sent (region after create). */
  constructor(prefix, submitLabel, onSubmit, readOnly = []) {
    this.formError = h("p", { class: "form-error", role: "alert", id: `${prefix}-form-error` });
    const rows = SPECS.map((spec) => {
      const id = `${prefix}-${spec.name}`;
      const describedBy = [spec.hint ? `${id}-hint` : "", `${id}-error`].filter(Boolean).join(" ");
      const common = { id, name: spec.name, "aria-describedby": describedBy, readonly: readOnly.includes(spec.name) };
      const input = spec.kind === "textarea" ? h("textarea", { ...common, rows: 2 }) : h("input", { ...common, type: spec.kind, autocomplete: "off" });
      const error = h("span", { class: "field-error", id: `${id}-error` });
      this.inputs.set(spec.name, input);
      this.errors.set(spec.name, error);
      return h(
        "div",
        { class: `field field-${spec.kind}` },
        h("label", { for: id }, spec.label),
        input,
        spec.hint ? h("span", { class: "hint", id: `${id}-hint` }, spec.hint) : null,
        error
      );
    });
    this.element = h(
      "form",
      { class: "workspace-form", novalidate: true, id: `${prefix}-form`, onsubmit: (event) => {
        event.preventDefault();
        onSubmit();
      } },
      ...rows,
      this.formError,
      h("div", { class: "actions" }, h("button", { type: "submit" }, submitLabel))
    );
    this.inputs.get("is_active").checked = true;
  }
  /** Put a workspace's values in the fields. */
  load(workspace) {
    this.value("name", workspace.name);
    this.value("description", workspace.description ?? "");
    this.value("subscription_plan_id", workspace.subscription_plan_id ?? "");
    this.value("tags", workspace.tags.join(", "));
    this.value("region", workspace.region);
    this.inputs.get("is_active").checked = workspace.is_active;
  }
  /** The body the fields say (optional empty fields left out, or sent as null with `nulls`). */
  read(nulls) {
    const text = (name) => this.inputs.get(name).value;
    const optional = (name) => text(name).trim() ? text(name) : nulls ? null : void 0;
    const body = {
      name: text("name"),
      description: optional("description"),
      subscription_plan_id: optional("subscription_plan_id"),
      tags: text("tags").split(",").map((t) => t.trim()).filter(Boolean),
      is_active: this.inputs.get("is_active").checked
    };
    if (text("region").trim()) body["region"] = text("region").trim();
    for (const key of Object.keys(body)) if (body[key] === void 0) delete body[key];
    return body;
  }
  reset() {
    this.element.reset();
    this.inputs.get("is_active").checked = true;
    this.clearErrors();
  }
  clearErrors() {
    this.formError.textContent = "";
    this.formError.className = "form-error";
    for (const [name, error] of this.errors) {
      error.textContent = "";
      this.inputs.get(name)?.removeAttribute("aria-invalid");
    }
  }
  /** A message for the whole form (`kind` styles it: error, conflict, ok). */
  message(text, kind = "error") {
    this.formError.textContent = text;
    this.formError.className = `form-error ${kind}`;
  }
  /** Show an error: a 422's issues by their fields (the rest above the button), else its message. */
  showError(error) {
    this.clearErrors();
    if (!(error instanceof ValidationError)) {
      this.message(error instanceof Error ? error.message : String(error));
      return;
    }
    const unplaced = [];
    let first = null;
    for (const issue of error.detail) {
      const field = fieldOf(issue);
      const target = field ? this.errors.get(field) : void 0;
      if (!field || !target) {
        unplaced.push(`${(issue.loc ?? []).join(".")}: ${issue.msg}`);
        continue;
      }
      target.textContent = target.textContent ? `${target.textContent}; ${issue.msg}` : issue.msg;
      const input = this.inputs.get(field);
      input?.setAttribute("aria-invalid", "true");
      first ??= input ?? null;
    }
    this.message(unplaced.length ? unplaced.join("; ") : "Please correct the highlighted fields.");
    first?.focus();
  }
  value(name, value) {
    this.inputs.get(name).value = value;
  }
};
function fieldOf(issue) {
  const loc = issue.loc ?? [];
  const name = loc[0] === "body" ? loc[1] : void 0;
  return SPECS.some((s) => s.name === name) ? name : null;
}

// src/list.ts
var UNSETTLED = /* @__PURE__ */ new Set(["pending", "provisioning"]);
var MAX_WATCHED = 3;
var ListView = class {
  constructor(session2) {
    this.session = session2;
    const field = (id, label, control) => h("div", { class: "field" }, h("label", { for: id }, label), control);
    this.filters = h(
      "form",
      { class: "filters", role: "search", "aria-label": "Filter workspaces", onsubmit: (event) => {
        event.preventDefault();
        this.cursors = [null];
        this.page = 0;
        void this.load();
      } },
      field("filter-q", "Name contains", h("input", { id: "filter-q", name: "q", type: "search", maxlength: 100 })),
      field("filter-tag", "Tag", h("input", { id: "filter-tag", name: "tag", maxlength: 64 })),
      field("filter-region", "Region", h("input", { id: "filter-region", name: "region", maxlength: 32 })),
      field(
        "filter-active",
        "Active",
        h("select", { id: "filter-active", name: "is_active" }, h("option", { value: "" }, "any"), h("option", { value: "true" }, "active"), h("option", { value: "false" }, "inactive"))
      ),
      field(
        "filter-limit",
        "Per page",
        h("select", { id: "filter-limit", name: "limit" }, ...[10, 25, 50, 100].map((n) => h("option", { value: n, selected: n === 25 }, String(n))))
      ),
      h("div", { class: "actions" }, h("button", { type: "submit" }, "Apply"))
    );
    this.create = new WorkspaceForm("create", "Create workspace", () => void this.submitCreate());
    this.element = h(
      "div",
      { class: "list-view" },
      h("h1", {}, "Workspaces"),
      this.notice,
      this.filters,
      h(
        "table",
        { class: "workspaces", id: "workspaces" },
        h("caption", { class: "visually-hidden" }, "Workspaces, newest first"),
        h("thead", {}, h("tr", {}, ...["Name", "Region", "Tags", "Active", "Bucket", "Updated", ""].map((c) => h("th", { scope: "col" }, c)))),
        this.tbody
      ),
      h("nav", { class: "pager", "aria-label": "Pages" }, this.previous, this.summary, this.next),
      h("section", { class: "card", "aria-labelledby": "create-heading" }, h("h2", { id: "create-heading" }, "New workspace"), this.create.element)
    );
    void this.load();
  }
  session;
  element;
  tbody = h("tbody");
  summary = h("p", { class: "muted", id: "list-summary", role: "status" });
  notice = h("p", { class: "notice", role: "status", id: "list-notice" });
  previous = h("button", { type: "button", onclick: () => this.turn(-1) }, "Previous");
  next = h("button", { type: "button", onclick: () => this.turn(1) }, "Next");
  filters;
  create;
  cursors = [null];
  // cursors[i] opens page i
  page = 0;
  nextCursor = null;
  rows = /* @__PURE__ */ new Map();
  watched = /* @__PURE__ */ new Map();
  loading = 0;
  shown = [];
  destroyed = false;
  destroy() {
    this.destroyed = true;
    for (const handle of this.watched.values()) handle.close();
    this.watched.clear();
  }
  params() {
    const data = new FormData(this.filters);
    const text = (name) => {
      const v = String(data.get(name) ?? "").trim();
      return v || void 0;
    };
    const active = text("is_active");
    const params = { limit: Number(text("limit") ?? 25), cursor: this.cursors[this.page] ?? null };
    const q = text("q"), tag = text("tag"), region = text("region");
    if (q) params.q = q;
    if (tag) params.tag = tag;
    if (region) params.region = region;
    if (active) params.is_active = active === "true";
    return params;
  }
  async load() {
    const ticket = ++this.loading;
    const params = this.params();
    try {
      const page = await this.session.client.workspaces.listPage(params);
      if (ticket !== this.loading || this.destroyed) return;
      this.nextCursor = page.has_more ? page.next_cursor ?? null : null;
      this.render(page.workspaces, page.total, params.limit ?? 25);
    } catch (error) {
      if (ticket === this.loading) this.say(`Could not load workspaces: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  render(workspaces, total, limit) {
    this.rows.clear();
    this.shown = workspaces;
    fill(this.tbody, ...workspaces.map((ws) => this.row(ws)));
    if (!workspaces.length) fill(this.tbody, h("tr", {}, h("td", { colspan: 7, class: "muted" }, "No workspaces match.")));
    const first = this.page * limit + 1;
    this.summary.textContent = workspaces.length ? `${first}–${first + workspaces.length - 1} of ${total}` : `0 of ${total}`;
    this.previous.disabled = this.page === 0;
    this.next.disabled = this.nextCursor === null;
    this.watch(workspaces);
  }
  row(ws) {
    const link = h("a", { href: `#/workspaces/${encodeURIComponent(ws.workspace_id)}` }, ws.name);
    const remove = h("button", { type: "button", class: "danger small", "aria-label": `Delete ${ws.name}`, onclick: () => void this.remove(ws) }, "Delete");
    const row = h(
      "tr",
      { "data-workspace": ws.workspace_id },
      h("th", { scope: "row" }, link),
      h("td", {}, ws.region),
      h("td", {}, ws.tags.join(", ")),
      h("td", {}, ws.is_active ? "yes" : "no"),
      h("td", { class: "bucket" }, bucketBadge(ws.bucket_status)),
      h("td", {}, time(ws.updated_at)),
      h("td", {}, remove)
    );
    this.rows.set(ws.workspace_id, row);
    return row;
  }
  /** Follow unsettled buckets live (a few streams at a time); close what left the page. */
  watch(workspaces) {
    for (const [id, handle] of this.watched) {
      if (!this.rows.has(id)) {
        handle.close();
        this.watched.delete(id);
      }
    }
    for (const ws of workspaces) {
      if (this.watched.size >= MAX_WATCHED) break;
      if (!UNSETTLED.has(ws.bucket_status) || this.watched.has(ws.workspace_id)) continue;
      const id = ws.workspace_id;
      const handle = this.session.client.sync(
        id,
        { onWorkspace: (fresh) => fresh && this.bucketChanged(id, fresh.bucket_status) },
        { presence: false }
      );
      this.watched.set(id, handle);
    }
  }
  bucketChanged(id, status) {
    const cell = this.rows.get(id)?.querySelector("td.bucket");
    if (cell && cell.textContent !== status) {
      fill(cell, bucketBadge(status));
      announce(`Bucket of ${this.rows.get(id)?.querySelector("a")?.textContent ?? id}: ${status}`);
    }
    const shown = this.shown.find((ws) => ws.workspace_id === id);
    if (shown) shown.bucket_status = status;
    if (!UNSETTLED.has(status)) {
      this.watched.get(id)?.close();
      this.watched.delete(id);
      if (!this.destroyed) this.watch(this.shown);
    }
  }
  turn(step) {
    if (step === 1) {
      if (this.nextCursor === null) return;
      this.cursors[this.page + 1] = this.nextCursor;
    } else if (this.page === 0) return;
    this.page += step;
    void this.load();
  }
  async submitCreate() {
    this.create.clearErrors();
    try {
      const created = await this.session.client.workspaces.create(this.create.read(false));
      this.create.reset();
      this.say(`Created “${created.name}”.`);
      this.cursors = [null];
      this.page = 0;
      await this.load();
    } catch (error) {
      this.create.showError(error);
    }
  }
  async remove(ws) {
    if (!window.confirm(`Delete workspace “${ws.name}” and its bucket?`)) return;
    try {
      await this.session.client.workspaces.delete(ws.workspace_id, { ifMatch: null });
      this.say(`Deleted “${ws.name}”.`);
      await this.load();
    } catch (error) {
      this.say(`Could not delete “${ws.name}”: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  say(text) {
    this.notice.textContent = text;
  }
};

// src/session.ts
var KEY = "mechamental.token";
function takeTokenFromLink() {
  const params = new URLSearchParams(location.hash.slice(1));
  const token = params.get("token");
  if (token) {
    sessionStorage.setItem(KEY, token);
    history.replaceState(null, "", location.pathname + location.search);
  }
}
function storedToken() {
  return sessionStorage.getItem(KEY);
}
function storeToken(token) {
  sessionStorage.setItem(KEY, token);
}
function signOut() {
  sessionStorage.removeItem(KEY);
}
var SignInRefused = class extends Error {
};
async function openSession(token) {
  const response = await fetch("/ui/session", { headers: { Authorization: `Bearer ${token}` } });
  if (response.status === 401) throw new SignInRefused("This key was refused (invalid, expired or revoked).");
  if (!response.ok) throw new SignInRefused(`Sign-in failed: HTTP ${response.status}.`);
  const who2 = await response.json();
  const client = new MechaMental({ baseUrl: location.origin, orgId: who2.org_id, token });
  return { orgId: who2.org_id, userId: who2.user_id, role: who2.role, client };
}

// src/events.ts
var KEEP = 200;
function viewingText(viewing) {
  if (!viewing) return "—";
  return viewing.resource_type === "tab" ? `${viewing.resource_id} tab` : `${viewing.resource_type} ${viewing.resource_id}`;
}
function changesOf(event) {
  switch (event.type) {
    case "workspace.updated":
      return Object.entries(event.data.changes).map(([field, value]) => `${field} = ${show(value)}`);
    case "workspace.created":
      return [`name = ${show(event.data.workspace.name)}`];
    case "workspace.bucket_status_changed":
      return [`bucket_status = ${event.data.bucket_status}`, ...event.data.bucket_error ? [`bucket_error = ${show(event.data.bucket_error)}`] : []];
    case "presence.joined":
      return [`${event.data.user_id} joined`];
    case "presence.left":
      return [`${event.data.user_id} left (${event.data.reason})`];
    case "presence.viewing":
      return [`${event.data.user_id} views ${viewingText(event.data.viewing)}`];
    case "sync.connected":
      return [event.data.resumed ? "resumed: nothing missed" : "connected"];
    case "sync.reset":
      return [`reset (${event.data.reason}): missed events could not be replayed; fields reloaded`];
    default:
      return [];
  }
}
var EventLog = class {
  element;
  tbody = h("tbody", { id: "event-rows" });
  empty = h("p", { class: "muted" }, "No events yet: changes made anywhere show up here as they happen.");
  constructor() {
    this.element = h(
      "div",
      { class: "event-log" },
      this.empty,
      h(
        "table",
        { id: "events" },
        h("caption", { class: "visually-hidden" }, "Live event log, newest first"),
        h("thead", {}, h("tr", {}, ...["Time", "Type", "Event id", "Actor", "Changes"].map((c) => h("th", { scope: "col" }, c)))),
        this.tbody
      )
    );
  }
  add(event) {
    this.empty.hidden = true;
    const row = h(
      "tr",
      { class: event.type.startsWith("sync.") ? "marker" : "", "data-type": event.type },
      h("td", {}, h("time", { datetime: event.occurred_at }, time(event.occurred_at))),
      h("td", {}, h("code", {}, event.type)),
      h("td", { class: "event-id" }, event.id ?? "—"),
      h("td", { class: "actor" }, event.actor_id ?? "—"),
      h("td", { class: "changes" })
    );
    const changes = row.lastElementChild;
    fill(changes, ...changesOf(event).flatMap((c, i) => i ? [h("br"), c] : [c]));
    this.tbody.prepend(row);
    while (this.tbody.rows.length > KEEP) this.tbody.lastElementChild?.remove();
  }
};

// src/presence.ts
var PresencePanel = class {
  constructor(session2, workspaceId) {
    this.session = session2;
    this.workspaceId = workspaceId;
    this.element = h(
      "aside",
      { class: "card presence", "aria-labelledby": "presence-heading" },
      h("h2", { id: "presence-heading" }, "Here now"),
      this.list
    );
  }
  session;
  workspaceId;
  element;
  list = h("ul", { class: "members", id: "members" });
  asked = 0;
  timer = setInterval(() => void this.refresh(), 15e3);
  destroy() {
    clearInterval(this.timer);
  }
  /** The stream's view of the members now; then the server's counts. */
  update(handle) {
    this.render(handle.members());
    void this.refresh();
  }
  async refresh() {
    const ticket = ++this.asked;
    try {
      const body = await this.session.client.workspaces.presence(this.workspaceId);
      if (ticket === this.asked) this.render(body.members);
    } catch {
    }
  }
  render(members) {
    const sorted = [...members].sort((a, b) => a.user_id.localeCompare(b.user_id));
    if (!sorted.length) {
      fill(this.list, h("li", { class: "muted" }, "Nobody (yet)."));
      return;
    }
    fill(
      this.list,
      ...sorted.map(
        (m) => h(
          "li",
          { "data-user": m.user_id },
          h("span", { class: "avatar", "aria-hidden": "true" }, m.user_id.slice(0, 1).toUpperCase()),
          h(
            "div",
            {},
            h("strong", { class: "user" }, m.user_id, m.user_id === this.session.userId ? " (you)" : ""),
            h("span", { class: "connections" }, `${m.connections} connection${m.connections === 1 ? "" : "s"}`),
            h("span", { class: "viewing" }, `viewing: ${viewingText(m.viewing)}`),
            h("span", { class: "since muted" }, `since ${time(m.since)}`)
          )
        )
      )
    );
  }
};

// src/workspace.ts
var TABS = ["fields", "edit", "events"];
var TAB_LABELS = { fields: "Fields", edit: "Edit", events: "Events" };
var STATUS_TEXT = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting…",
  closed: "Disconnected"
};
var FIELDS = [
  "workspace_id",
  "name",
  "description",
  "owner_id",
  "subscription_plan_id",
  "is_active",
  "tags",
  "region",
  "s3_bucket",
  "bucket_status",
  "bucket_error",
  "created_at",
  "updated_at"
];
var EDITABLE = ["name", "description", "subscription_plan_id", "tags", "is_active"];
var WorkspaceView = class {
  constructor(session2, workspaceId, tab) {
    this.session = session2;
    this.workspaceId = workspaceId;
    this.tab = tab;
    this.presence = new PresencePanel(session2, workspaceId);
    this.form = new WorkspaceForm("edit", "Save changes", () => void this.save(), ["region"]);
    const tablist = h("div", { class: "tabs", role: "tablist", "aria-label": "Workspace", onkeydown: (e) => this.arrow(e) });
    for (const name of TABS) {
      const button = h(
        "button",
        { type: "button", role: "tab", id: `tab-${name}`, "aria-controls": `panel-${name}`, onclick: () => this.go(name) },
        TAB_LABELS[name]
      );
      this.tabs.set(name, button);
      tablist.append(button);
    }
    const reload = h("button", { type: "button", class: "secondary", onclick: () => void this.loadForm() }, "Load latest");
    const remove = h("button", { type: "button", class: "danger", onclick: () => void this.remove() }, "Delete workspace");
    this.panels.set("fields", h("section", {}, this.fields));
    this.panels.set("edit", h("section", {}, this.staleNote, this.form.element, h("div", { class: "actions" }, reload, remove)));
    this.panels.set("events", h("section", {}, this.log.element));
    const panels = TABS.map((name) => {
      const panel = this.panels.get(name);
      panel.id = `panel-${name}`;
      panel.setAttribute("role", "tabpanel");
      panel.setAttribute("aria-labelledby", `tab-${name}`);
      panel.tabIndex = 0;
      return panel;
    });
    this.element = h(
      "div",
      { class: "workspace-view" },
      h("p", {}, h("a", { href: "#/" }, "← All workspaces")),
      h("div", { class: "title-row" }, this.title, this.bucket, this.state),
      this.banner,
      h("div", { class: "columns" }, h("div", { class: "main-column" }, tablist, ...panels), this.presence.element)
    );
    this.handle = session2.client.sync(workspaceId, {
      onStatus: (status) => this.status(status),
      onWorkspace: (ws) => this.show(ws),
      onMembers: () => this.presence.update(this.handle),
      onEvent: (event) => {
        this.log.add(event);
        if (event.type === "sync.reset") this.say(`The server could not replay what was missed (${event.data.reason}): the fields were reloaded, the log may have a gap.`);
        if (event.type === "sync.connected" && event.data.resumed) this.say(null);
        if (event.type === "workspace.updated" && event.actor_id !== session2.userId) announce(`${event.actor_id ?? "Someone"} changed ${Object.keys(event.data.changes).join(", ")}`);
      },
      onError: (error) => {
        if (error instanceof NotFoundError) this.say("This workspace does not exist (or was deleted).");
      }
    });
    this.select(tab);
    void this.loadForm();
  }
  session;
  workspaceId;
  element;
  title = h("h1", { id: "ws-title" }, "Workspace");
  state = h("span", { class: "badge state-connecting", id: "sync-state", role: "status" }, STATUS_TEXT.connecting);
  banner = h("p", { class: "banner", id: "sync-banner", hidden: true });
  bucket = h("span", { id: "ws-bucket" });
  fields = h("dl", { class: "fields", id: "fields" });
  staleNote = h("p", { class: "notice", id: "edit-stale", hidden: true });
  tabs = /* @__PURE__ */ new Map();
  panels = /* @__PURE__ */ new Map();
  log = new EventLog();
  presence;
  form;
  handle;
  /** The version the edit form shows (its ETag is the client's, from the same read). */
  loaded = null;
  tab;
  announced = Promise.resolve();
  destroy() {
    this.presence.destroy();
    this.handle.close();
  }
  /** Show `tab` and tell the others (presence: viewing tab/<name>). */
  select(tab) {
    this.tab = tab;
    for (const name of TABS) {
      const selected = name === tab;
      const button = this.tabs.get(name);
      button.setAttribute("aria-selected", String(selected));
      button.tabIndex = selected ? 0 : -1;
      this.panels.get(name).hidden = !selected;
    }
    this.announced = this.announced.then(() => this.handle.ready).then(() => this.handle.view("tab", tab)).catch(() => void 0);
  }
  go(tab) {
    location.hash = `#/workspaces/${encodeURIComponent(this.workspaceId)}/${tab}`;
  }
  arrow(event) {
    const step = event.key === "ArrowRight" ? 1 : event.key === "ArrowLeft" ? -1 : 0;
    if (!step) return;
    const next = TABS[(TABS.indexOf(this.tab) + step + TABS.length) % TABS.length];
    this.go(next);
    this.tabs.get(next)?.focus();
  }
  status(status) {
    this.state.textContent = STATUS_TEXT[status];
    this.state.className = `badge state-${status}`;
    this.state.dataset["state"] = status;
    if (status === "reconnecting") this.say("Connection lost: reconnecting. Nothing is missed: the stream resumes after the last event received.");
    if (status === "live" && this.banner.dataset["kind"] === "reconnecting") this.say(null);
  }
  say(text) {
    this.banner.hidden = text === null;
    this.banner.textContent = text ?? "";
    this.banner.dataset["kind"] = text?.startsWith("Connection lost") ? "reconnecting" : text ? "notice" : "";
  }
  show(ws) {
    if (!ws) {
      this.title.textContent = "Deleted workspace";
      fill(this.bucket);
      this.say("This workspace was deleted.");
      return;
    }
    this.title.textContent = ws.name;
    document.title = `${ws.name} · MechaMental`;
    fill(this.bucket, bucketBadge(ws.bucket_status));
    fill(
      this.fields,
      ...FIELDS.flatMap((field) => {
        const value = ws[field];
        const text = field.endsWith("_at") ? time(value) : typeof value === "string" ? value : show(value);
        return [h("dt", {}, field), h("dd", { "data-field": field }, text)];
      })
    );
    if (this.loaded && ws.updated_at !== this.loaded.updated_at) {
      this.staleNote.hidden = false;
      this.staleNote.textContent = "This workspace changed since the form was loaded: saving will be refused until you load the latest.";
    }
  }
  async loadForm() {
    try {
      const ws = await this.session.client.workspaces.get(this.workspaceId);
      this.loaded = ws;
      this.form.clearErrors();
      this.form.load(ws);
      this.staleNote.hidden = true;
    } catch (error) {
      this.form.showError(error);
    }
  }
  async save() {
    if (!this.loaded) return;
    const body = this.form.read(true);
    const patch = {};
    for (const field of EDITABLE) {
      if (JSON.stringify(body[field] ?? null) !== JSON.stringify(this.loaded[field] ?? null)) patch[field] = body[field] ?? null;
    }
    this.form.clearErrors();
    if (!Object.keys(patch).length) return this.form.message("Nothing changed.", "ok");
    try {
      const saved = await this.session.client.workspaces.update(this.workspaceId, patch);
      this.loaded = saved;
      this.form.load(saved);
      this.staleNote.hidden = true;
      this.form.message(`Saved (${Object.keys(patch).join(", ")}).`, "ok");
    } catch (error) {
      if (error instanceof ConflictError) {
        this.form.message(
          "Not saved: someone changed this workspace after you loaded it (412 Precondition Failed). Load the latest version, then make your edit again.",
          "conflict"
        );
        return;
      }
      this.form.showError(error);
    }
  }
  async remove() {
    const name = this.loaded?.name ?? this.workspaceId;
    if (!window.confirm(`Delete workspace “${name}” and its bucket?`)) return;
    try {
      await this.session.client.workspaces.delete(this.workspaceId);
      location.hash = "#/";
    } catch (error) {
      if (error instanceof ConflictError) this.form.message("Not deleted: it changed since you loaded it. Load the latest version first.", "conflict");
      else this.form.showError(error);
    }
  }
};

// src/main.ts
var main = document.getElementById("main");
var who = document.getElementById("who");
var signOutButton = document.getElementById("signout");
var session = null;
var current = null;
function mount(view) {
  current?.destroy();
  current = view;
  fill(main, view.element);
}
function signInForm(message) {
  current?.destroy();
  current = null;
  session = null;
  who.textContent = "";
  signOutButton.hidden = true;
  const key = h("input", { id: "key", name: "key", type: "password", autocomplete: "off", required: true, "aria-describedby": "signin-error" });
  const form = h(
    "form",
    { class: "card signin", onsubmit: (event) => {
      event.preventDefault();
      storeToken(key.value.trim());
      void start();
    } },
    h("h1", {}, "Sign in"),
    h("p", {}, "Open the link ", h("code", {}, "make run"), " printed, or paste an API key (kept in this tab only)."),
    h("label", { for: "key" }, "API key"),
    key,
    h("p", { id: "signin-error", class: "field-error", role: "alert" }, message ?? ""),
    h("button", { type: "submit" }, "Sign in")
  );
  fill(main, form);
  key.focus();
}
function route() {
  if (!session) return;
  const parts = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  if (parts[0] === "workspaces" && parts[1]) {
    const tab = TABS.includes(parts[2] ?? "") ? parts[2] : "fields";
    if (current instanceof WorkspaceView && current.workspaceId === parts[1]) current.select(tab);
    else mount(new WorkspaceView(session, parts[1], tab));
    return;
  }
  if (!(current instanceof ListView)) mount(new ListView(session));
}
async function start() {
  const token = storedToken();
  if (!token) return signInForm(null);
  fill(main, h("p", { class: "muted", role: "status" }, "Signing in…"));
  try {
    session = await openSession(token);
  } catch (error) {
    signOut();
    return signInForm(error instanceof SignInRefused ? error.message : `Sign-in failed: ${String(error)}`);
  }
  who.textContent = `${session.userId} · ${session.role} · org ${session.orgId}`;
  signOutButton.hidden = false;
  route();
}
signOutButton.addEventListener("click", () => {
  signOut();
  history.replaceState(null, "", location.pathname);
  signInForm(null);
});
window.addEventListener("hashchange", route);
takeTokenFromLink();
void start();
