// One place that sends requests: base URL, credential (a fixed token or `getToken()`, asked
// again once when a call is refused with 401), and typed errors.
import { errorFrom, NetworkError } from "./errors.js";

export interface ClientOptions {
  baseUrl: string;
  orgId: string;
  token?: string;
  /** Called for the first credential and again whenever one is refused (401, `sync.unauthorized`). */
  getToken?: () => Promise<string> | string;
  /** Another fetch (tests, polyfills); default `globalThis.fetch`. */
  fetch?: typeof fetch;
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | null | undefined>;
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  keepalive?: boolean;
  /** Told the credential the request was (last) sent with: to refresh exactly that one later. */
  sentWith?: (token: string) => void;
}

export class Http {
  readonly baseUrl: string;
  readonly orgId: string;
  private readonly fixed: string | undefined;
  private readonly getToken: (() => Promise<string> | string) | undefined;
  private current: Promise<string> | null = null;
  readonly fetch: typeof fetch;

  constructor(options: ClientOptions) {
    if (!options.token && !options.getToken) throw new TypeError("token or getToken is required");
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.orgId = options.orgId;
    this.fixed = options.token;
    this.getToken = options.getToken;
    const f = options.fetch ?? globalThis.fetch;
    this.fetch = (input, init) => f(input, init); // unbound window.fetch throws in browsers
  }

  /** The credential now (shared while a `getToken()` call is in flight). */
  token(): Promise<string> {
    if (this.getToken === undefined) return Promise.resolve(this.fixed as string);
    if (this.current === null) {
      const asked = Promise.resolve().then(() => this.getToken!());
      this.current = asked;
      asked.catch(() => {
        if (this.current === asked) this.current = null;
      });
    }
    return this.current;
  }

  /** Forget `refused` so the next `token()` asks `getToken()` again; false with a fixed token. */
  async refresh(refused: string): Promise<boolean> {
    if (this.getToken === undefined) return false;
    const held = this.current ? await this.current.catch(() => null) : null;
    if (held === refused || held === null) this.current = null;
    return true;
  }

  orgPath(path: string): string {
    return `/v1/orgs/${encodeURIComponent(this.orgId)}${path}`;
  }

  url(path: string, query?: RequestOptions["query"]): string {
    const search = new URLSearchParams();
    for (const [k, v] of Object.entries(query ?? {})) {
      if (v !== undefined && v !== null) search.set(k, String(v));
    }
    const qs = search.toString();
    return this.baseUrl + path + (qs ? `?${qs}` : "");
  }

  /** Send; a 401 asks `getToken()` once more and retries. Non-2xx throws a typed error. */
  async send(method: string, path: string, options: RequestOptions = {}): Promise<Response> {
    for (let attempt = 0; ; attempt++) {
      const token = await this.token();
      options.sentWith?.(token);
      const headers: Record<string, string> = { Authorization: `Bearer ${token}`, ...options.headers };
      const init: RequestInit = { method, headers };
      if (options.body !== undefined) {
        headers["Content-Type"] = "application/json";
        init.body = JSON.stringify(options.body);
      }
      if (options.signal) init.signal = options.signal;
      if (options.keepalive) init.keepalive = true;
      let response: Response;
      try {
        response = await this.fetch(this.url(path, options.query), init);
      } catch (cause) {
        if (options.signal?.aborted) throw cause;
        throw new NetworkError({ status: 0, code: "NETWORK_ERROR", message: String(cause) });
      }
      if (response.status === 401 && attempt === 0 && (await this.refresh(token))) {
        await response.body?.cancel().catch(() => undefined);
        continue;
      }
      if (!response.ok && response.status !== 304) throw await errorFrom(response);
      return response;
    }
  }

  async json<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const response = await this.send(method, path, options);
    return (await response.json()) as T;
  }
}
