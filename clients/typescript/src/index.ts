// @mechamental/client: the MechaMental workspace service from browsers and Node >= 20.
import { Http, type ClientOptions } from "./http.js";
import { SyncHandle } from "./sync.js";
import type { SyncHandlers, SyncOptions } from "./sync_options.js";
import { Workspaces } from "./workspaces.js";

export class MechaMental {
  readonly workspaces: Workspaces;
  /** @internal */
  readonly http: Http;
  constructor(options: ClientOptions) {
    this.http = new Http(options);
    this.workspaces = new Workspaces(this.http);
  }

  /** A live handle on the workspace's events and presence (see SyncHandle). */
  sync(workspaceId: string, handlers: SyncHandlers = {}, options: SyncOptions = {}): SyncHandle {
    return new SyncHandle(this.http, this.workspaces, workspaceId, handlers, options);
  }
}

export * from "./errors.js";
export type { ClientOptions, RequestOptions } from "./http.js";
export { SyncHandle } from "./sync.js";
export type { SyncHandlers, SyncOptions } from "./sync_options.js";
export { SseParser, readSse, type SseFrame } from "./sse.js";
export { Workspaces, newIdempotencyKey } from "./workspaces.js";
export type * from "./types.js";
