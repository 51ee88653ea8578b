// @mechamental/client/react: a live workspace, its presence and who views what, as React hooks.
// Every hook of one tree on one workspace shares one sync handle (see store.ts), read through
// useSyncExternalStore so concurrent renders never tear. Imports nothing but React at run time
// (the core package is only a type here: the app hands us its client).
import { createContext, createElement, useContext, useEffect, useMemo, useSyncExternalStore } from "react";
import type { ReactNode } from "react";
import type { MechaMental } from "../index.js";
import type { SyncOptions } from "../sync_options.js";
import type { Member } from "../types.js";
import { sharedSync, type PresenceState, type SharedSync, type WorkspaceState } from "./store.js";

export type { PresenceState, ViewingClaim, WorkspaceState } from "./store.js";

interface MechaMentalContextValue {
  client: MechaMental;
  workspaceId: string | null;
  syncOptions: SyncOptions;
}

const MechaMentalContext = createContext<MechaMentalContextValue | null>(null);

/**
 * `ticket` auth by default: the ticket names the user, so `usePresence().me` and `others`
 * are known (with a header the handle cannot tell who it is).
 */
const DEFAULT_SYNC_OPTIONS: SyncOptions = { auth: "ticket" };

export interface MechaMentalProviderProps {
  client: MechaMental;
  /** The workspace hooks use when they are given none. */
  workspaceId?: string | null;
  /** Options of the shared handles (the first hook on a workspace opens it with these). */
  syncOptions?: SyncOptions;
  children?: ReactNode;
}

export function MechaMentalProvider(props: MechaMentalProviderProps): ReactNode {
  const { client, workspaceId = null, syncOptions = DEFAULT_SYNC_OPTIONS, children } = props;
  const value = useMemo(() => ({ client, workspaceId, syncOptions }), [client, workspaceId, syncOptions]);
  return createElement(MechaMentalContext.Provider, { value }, children);
}

/** The client of the nearest MechaMentalProvider. */
export function useMechaMental(): MechaMental {
  return useContextValue().client;
}

function useContextValue(): MechaMentalContextValue {
  const value = useContext(MechaMentalContext);
  if (value === null) throw new Error("@mechamental/client/react: hooks need a <MechaMentalProvider client={…}>");
  return value;
}

/** The shared store of `workspaceId` (or the provider's), or null when there is none. */
function useShared(workspaceId: string | null | undefined): SharedSync | null {
  const { client, workspaceId: fallback, syncOptions } = useContextValue();
  const id = workspaceId === undefined ? fallback : workspaceId;
  return id === null ? null : sharedSync(client, id, syncOptions);
}

const IDLE_WORKSPACE: WorkspaceState = { workspace: null, status: "closed", error: null };
const IDLE_PRESENCE: PresenceState = { members: [], me: null, others: [] };
const noSubscription = (): (() => void) => () => undefined;

function useStoreState<T>(shared: SharedSync | null, read: (s: SharedSync) => T, idle: T): T {
  const subscribe = shared?.subscribe ?? noSubscription;
  const snapshot = (): T => (shared === null ? idle : read(shared));
  return useSyncExternalStore(subscribe, snapshot, snapshot);
}

/**
 * The workspace, live: replaced on `workspace.updated`, refetched after `sync.reset`, null
 * once deleted (then `status` is `closed`). `null` as the id: nothing is opened.
 */
export function useWorkspace(workspaceId?: string | null): WorkspaceState {
  return useStoreState(useShared(workspaceId), (s) => s.workspaceState, IDLE_WORKSPACE);
}

/** Who is in the workspace: every member, the calling user (`me`) and the `others`. */
export function usePresence(workspaceId?: string | null): PresenceState {
  return useStoreState(useShared(workspaceId), (s) => s.presenceState, IDLE_PRESENCE);
}

/**
 * Announce that this user views (`resourceType`, `resourceId`) while the component is mounted
 * (a null id announces nothing); returns the other members viewing the same resource.
 */
export function useViewing(
  resourceType: string,
  resourceId: string | null,
  workspaceId?: string | null,
): readonly Member[] {
  const shared = useShared(workspaceId);
  const { others } = useStoreState(shared, (s) => s.presenceState, IDLE_PRESENCE);
  useEffect(() => {
    if (shared === null || resourceId === null) return undefined;
    return shared.claimViewing({ resourceType, resourceId });
  }, [shared, resourceType, resourceId]);
  return useMemo(
    () =>
      resourceId === null
        ? []
        : others.filter((m) => m.viewing?.resource_type === resourceType && m.viewing.resource_id === resourceId),
    [others, resourceType, resourceId],
  );
}
