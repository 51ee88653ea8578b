// One event stream per workspace per browser, shared by its tabs. A browser holds at most
// six HTTP/1.1 connections per host and every open stream keeps one, so with a stream per
// tab the seventh tab gets no events and every other request queues behind the streams.
// The tabs of one origin that sync the same workspace elect a leader with the Web Locks API
// (the lock is released when its tab closes, crashes or navigates away, and the next tab
// waiting takes it); the leader holds the stream and hands every frame, status and reset to
// the others through a BroadcastChannel. Without both APIs (Node, old browsers) the caller
// keeps its own stream. The group is per origin, API, org, workspace and credential (its
// SHA-256, never the credential itself): two users signed in on one page or one profile
// never share a stream, a presence or an identity. Tabs whose `getToken()` hands out
// different tokens keep a stream each (safe, just not shared).
import type { Member, SyncEvent, SyncStatus, Workspace } from "./types.js";

/** What one tab tells the others of its group. */
export type TabMessage =
  | { kind: "hello"; from: string; presence: boolean }
  | { kind: "here"; from: string; presence: boolean }
  | { kind: "bye"; from: string }
  | { kind: "lead"; from: string }
  | { kind: "state"; to: string; state: SharedState }
  | { kind: "frame"; id: string | undefined; event: SyncEvent; workspace?: Workspace | null }
  | { kind: "status"; status: SyncStatus }
  | { kind: "viewing"; viewing: [string, string] | null };

/** What a tab that starts following needs from the leader: everything frames built so far. */
export interface SharedState {
  status: SyncStatus;
  workspace: Workspace | null;
  members: Member[];
  lastEventId: string | null;
  me: string | null;
  viewing: [string, string] | null;
}

export interface TabGroupSink {
  message(message: TabMessage): void;
  /** This tab holds the lock: run the stream until the returned promise settles. */
  lead(): Promise<void>;
}

interface LockManagerLike {
  request(name: string, options: { signal?: AbortSignal }, callback: () => Promise<void>): Promise<void>;
}

function lockManager(): LockManagerLike | null {
  const locks = (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator?.locks;
  return locks && typeof locks.request === "function" ? locks : null;
}

/**
 * True where tabs can share a stream: a page (a window) with Web Locks and BroadcastChannel.
 * Not in Node, even one that has both: its handles are separate clients, often of separate
 * users, that the tabs of one browser profile (one user's session) are not.
 */
export function canShareAcrossTabs(): boolean {
  return (
    typeof (globalThis as { window?: unknown }).window !== "undefined" &&
    lockManager() !== null &&
    typeof globalThis.BroadcastChannel === "function" &&
    typeof globalThis.crypto?.subtle?.digest === "function"
  );
}

/** The lock and channel name of one workspace of one org on one API, for one credential. */
export async function groupName(baseUrl: string, orgId: string, workspaceId: string, credential: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(credential));
  const holder = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `mechamental:sync:${JSON.stringify([baseUrl, orgId, workspaceId, holder])}`;
}

const newId = (): string =>
  typeof crypto !== "undefined" && typeof crypto.randomUUID === "function"
    ? crypto.randomUUID()
    : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;

/** This tab's membership of a group: the lock it waits for and the channel it talks on. */
export class TabGroup {
  readonly id = newId();
  /** The other tabs of the group that said hello (and whether they hold presence). */
  readonly others = new Map<string, { presence: boolean }>();
  leading = false;
  private readonly channel: BroadcastChannel;
  private readonly abort = new AbortController();
  private closed = false;

  constructor(
    readonly name: string,
    private readonly presence: boolean,
    private readonly sink: TabGroupSink,
  ) {
    this.channel = new BroadcastChannel(name);
    this.channel.onmessage = (message: MessageEvent<TabMessage>) => this.receive(message.data);
    this.post({ kind: "hello", from: this.id, presence });
    const locks = lockManager() as LockManagerLike;
    locks
      .request(name, { signal: this.abort.signal }, async () => {
        if (this.closed) return;
        this.leading = true;
        this.post({ kind: "lead", from: this.id });
        try {
          await this.sink.lead();
        } finally {
          this.leading = false;
        }
      })
      .catch(() => undefined); // aborted while waiting: this tab closed first
  }

  /** Another tab of this group that keeps presence is still open. */
  get othersPresent(): boolean {
    for (const other of this.others.values()) if (other.presence) return true;
    return false;
  }

  post(message: TabMessage): void {
    if (this.closed) return;
    this.channel.postMessage(message);
  }

  private receive(message: TabMessage): void {
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
  close(): void {
    if (this.closed) return;
    this.post({ kind: "bye", from: this.id });
    this.closed = true;
    this.abort.abort();
    this.channel.close();
  }
}
