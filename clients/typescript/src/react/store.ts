// One shared sync handle per (client, workspace) for every hook of a React tree, reference-
// counted, with immutable snapshots for useSyncExternalStore. Why a store of our own: hooks in
// many components must not open one stream each, and React StrictMode mounts, unmounts and
// mounts again at once; so the last release only closes after the current task (a release
// followed at once by an acquire keeps the same stream and never leaves presence). Viewing
// claims from every mounted `useViewing` are a stack: the newest is announced; the service has
// no "stop viewing" call, so the last one gone is announced as leave then join.
// This module imports no React: only types from the core package.
import type { MechaMental } from "../index.js";
import type { SyncHandle } from "../sync.js";
import type { SyncOptions } from "../sync_options.js";
import type { Member, SyncStatus, Workspace } from "../types.js";

export interface WorkspaceState {
  readonly workspace: Workspace | null;
  readonly status: SyncStatus;
  /** The last error the handle reported (a refused stream, a failed presence call), or null. */
  readonly error: unknown;
}

export interface PresenceState {
  readonly members: readonly Member[];
  /** The calling user, once the handle knows it. */
  readonly me: string | null;
  /** Every member but `me`. */
  readonly others: readonly Member[];
}

export interface ViewingClaim {
  readonly resourceType: string;
  readonly resourceId: string;
}

const INITIAL_WORKSPACE: WorkspaceState = { workspace: null, status: "connecting", error: null };
const INITIAL_PRESENCE: PresenceState = { members: [], me: null, others: [] };

/** How long the last release waits before closing: StrictMode's remount comes in the same task. */
const RELEASE_DELAY_MS = 0;

const sameClaim = (a: ViewingClaim | null, b: ViewingClaim | null): boolean =>
  a === b || (a !== null && b !== null && a.resourceType === b.resourceType && a.resourceId === b.resourceId);

export class SharedSync {
  workspaceState: WorkspaceState = INITIAL_WORKSPACE;
  presenceState: PresenceState = INITIAL_PRESENCE;
  private handle: SyncHandle | null = null;
  private refs = 0;
  private closeTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly listeners = new Set<() => void>();
  private readonly claims: ViewingClaim[] = [];
  /** What the server was last told this handle views (null: present, viewing nothing). */
  private announced: ViewingClaim | null = null;
  /** Presence calls in order: each reads the wanted state when it runs, so bursts coalesce. */
  private presenceCalls: Promise<void> = Promise.resolve();

  constructor(
    private readonly client: MechaMental,
    readonly workspaceId: string,
    private readonly options: SyncOptions,
  ) {}

  /** For useSyncExternalStore: a subscription holds the handle open. */
  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    this.acquire();
    return () => {
      this.listeners.delete(listener);
      this.release();
    };
  };

  /** Announce `claim` until the returned function is called (the newest claim wins). */
  claimViewing(claim: ViewingClaim): () => void {
    const held = { ...claim };
    this.claims.push(held);
    this.acquire();
    this.syncViewing();
    return () => {
      const at = this.claims.indexOf(held);
      if (at >= 0) this.claims.splice(at, 1);
      this.syncViewing();
      this.release();
    };
  }

  private acquire(): void {
    this.refs += 1;
    if (this.closeTimer !== null) {
      clearTimeout(this.closeTimer);
      this.closeTimer = null;
    }
    if (this.handle === null) this.open();
  }

  private release(): void {
    this.refs -= 1;
    if (this.refs > 0 || this.closeTimer !== null) return;
    this.closeTimer = setTimeout(() => {
      this.closeTimer = null;
      if (this.refs === 0) this.shut();
    }, RELEASE_DELAY_MS);
  }

  private open(): void {
    this.workspaceState = INITIAL_WORKSPACE;
    this.presenceState = INITIAL_PRESENCE;
    this.announced = null;
    const handle: SyncHandle = this.client.sync(
      this.workspaceId,
      {
        onStatus: (status) => this.changed(handle, { status }),
        onWorkspace: (workspace) => this.changed(handle, { workspace }),
        onMembers: () => this.changed(handle, {}),
        onError: (error) => this.changed(handle, { error }),
      },
      this.options,
    );
    this.handle = handle;
    this.changed(handle, {});
  }

  private shut(): void {
    const handle = this.handle;
    if (handle === null) return;
    this.handle = null;
    // Close after the presence calls in flight, so a late `view` cannot follow the leave.
    void this.presenceCalls.then(() => handle.close());
    this.workspaceState = { ...this.workspaceState, status: "closed" };
    this.emit();
  }

  private changed(handle: SyncHandle, update: Partial<WorkspaceState>): void {
    if (handle !== this.handle) return; // a closed handle's late news
    const workspace = { ...this.workspaceState, ...update };
    if (update.status === "live") workspace.error = null;
    if (
      workspace.status !== this.workspaceState.status ||
      workspace.workspace !== this.workspaceState.workspace ||
      workspace.error !== this.workspaceState.error
    ) {
      this.workspaceState = workspace;
    }
    const members = handle.members();
    const me = handle.me;
    const before = this.presenceState;
    const same =
      me === before.me &&
      members.length === before.members.length &&
      members.every((m, i) => m === before.members[i]);
    if (!same) this.presenceState = { members, me, others: members.filter((m) => m.user_id !== me) };
    this.emit();
  }

  private emit(): void {
    for (const listener of [...this.listeners]) listener();
  }

  private wanted(): ViewingClaim | null {
    return this.claims.at(-1) ?? null;
  }

  private syncViewing(): void {
    const handle = this.handle;
    this.presenceCalls = this.presenceCalls
      .then(async () => {
        // Runs after the current task's mounts and unmounts (StrictMode's included).
        await new Promise<void>((resolve) => setTimeout(resolve, RELEASE_DELAY_MS));
        if (handle === null || handle !== this.handle) return;
        const wanted = this.wanted();
        if (sameClaim(wanted, this.announced)) return;
        if (wanted !== null) {
          await handle.view(wanted.resourceType, wanted.resourceId);
        } else {
          await handle.leave(); // the service keeps a viewed resource until leave
          await handle.join();
        }
        this.announced = wanted;
      })
      .catch((error: unknown) => {
        if (handle !== null) this.changed(handle, { error });
      });
  }
}

const registry = new WeakMap<MechaMental, Map<string, SharedSync>>();

/** The one SharedSync of `client` and `workspaceId` (made on first use, never opened by this). */
export function sharedSync(client: MechaMental, workspaceId: string, options: SyncOptions): SharedSync {
  let byWorkspace = registry.get(client);
  if (byWorkspace === undefined) registry.set(client, (byWorkspace = new Map()));
  let shared = byWorkspace.get(workspaceId);
  if (shared === undefined) byWorkspace.set(workspaceId, (shared = new SharedSync(client, workspaceId, options)));
  return shared;
}
