// What a caller gives `client.sync()`: the handlers it is told through and its options.
import type { Member, SyncEvent, SyncStatus, Workspace } from "./types.js";

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
  /**
   * Share one stream per workspace among this origin's tabs (default true; needs Web Locks
   * and BroadcastChannel, else the handle keeps its own stream). `false`: a stream of its own.
   */
  shareAcrossTabs?: boolean;
}
