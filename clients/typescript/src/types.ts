// Public names for the generated OpenAPI types (src/generated/openapi.ts).
import type { components } from "./generated/openapi.js";

type Schemas = components["schemas"];
export type Workspace = Schemas["WorkspaceRead"];
export type WorkspaceCreate = Schemas["WorkspaceCreate"];
export type WorkspaceUpdate = Schemas["WorkspaceUpdate"];
export type WorkspaceList = Schemas["WorkspaceList"];
export type Member = Schemas["PresenceMember"];
export type PresenceList = Schemas["PresenceList"];
export type ViewedResource = Schemas["ViewedResource"];
export type StreamTicket = Schemas["StreamTicket"];
export type ErrorBody = Schemas["ErrorBody"];
export type ValidationIssue = Schemas["ValidationError"];
export type { components, paths } from "./generated/openapi.js";

export type ListFilters = { is_active?: boolean; tag?: string; region?: string; q?: string };
export type ListPageParams = ListFilters & { limit?: number; cursor?: string | null };

export type SyncStatus = "connecting" | "live" | "reconnecting" | "closed";

/** One event as the stream carries it (`data:` JSON). Synthetic `sync.*` frames have `id: null`. */
export interface SyncEventBase<T extends string, D> {
  id: string | null;
  type: T;
  org_id: string;
  workspace_id: string;
  actor_id: string | null;
  occurred_at: string;
  data: D;
}
export type SyncConnected = SyncEventBase<
  "sync.connected",
  { workspace: Workspace; presence: { members: Member[] }; resumed: boolean; heartbeat_seconds: number }
>;
export type SyncEvent =
  | SyncConnected
  | SyncEventBase<"sync.reset", { reason: string; last_event_id: string | null }>
  | SyncEventBase<"sync.timeout", Record<string, unknown>>
  | SyncEventBase<"sync.unauthorized", { reason: string }>
  | SyncEventBase<"workspace.created", { workspace: Workspace }>
  | SyncEventBase<"workspace.updated", { changes: Partial<Workspace>; workspace: Workspace }>
  | SyncEventBase<"workspace.deleted", Record<string, unknown>>
  | SyncEventBase<
      "workspace.bucket_status_changed",
      { bucket_status: string; bucket_error: string | null; s3_bucket: string }
    >
  | SyncEventBase<"presence.joined", { user_id: string; viewing: ViewedResource | null; since: string }>
  | SyncEventBase<"presence.left", { user_id: string; reason: string }>
  | SyncEventBase<
      "presence.viewing",
      { user_id: string; viewing: ViewedResource | null; previous: ViewedResource | null }
    >;
