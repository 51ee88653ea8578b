// Workspaces CRUD: an async iterator over every page, idempotency keys on create, If-Match
// from the last read (412 -> ConflictError).
import type { Http } from "./http.js";
import type {
  ListFilters,
  ListPageParams,
  PresenceList,
  Workspace,
  WorkspaceCreate,
  WorkspaceList,
  WorkspaceUpdate,
} from "./types.js";

export function newIdempotencyKey(): string {
  return globalThis.crypto.randomUUID();
}

export class Workspaces {
  /** ETags of the last read of each workspace (get, update). */
  private readonly etags = new Map<string, string>();
  constructor(private readonly http: Http) {}

  private path(id?: string): string {
    return this.http.orgPath(id === undefined ? "/workspaces" : `/workspaces/${encodeURIComponent(id)}`);
  }

  /** The ETag remembered for `id` (from its last get or update), if any. */
  etag(id: string): string | undefined {
    return this.etags.get(id);
  }

  listPage(params: ListPageParams = {}): Promise<WorkspaceList> {
    return this.http.json<WorkspaceList>("GET", this.path(), { query: params });
  }

  /** Every workspace matching `filters`, newest first, page after page. */
  async *list(filters: ListFilters & { pageSize?: number } = {}): AsyncGenerator<Workspace, void, undefined> {
    const { pageSize, ...rest } = filters;
    let cursor: string | null = null;
    do {
      const page: WorkspaceList = await this.listPage({ ...rest, limit: pageSize ?? 100, cursor });
      yield* page.workspaces;
      cursor = page.has_more ? (page.next_cursor ?? null) : null;
    } while (cursor !== null);
  }

  /** Create; a retried call with the same key never creates twice (a key is made when absent). */
  create(body: WorkspaceCreate, options: { idempotencyKey?: string } = {}): Promise<Workspace> {
    const key = options.idempotencyKey ?? newIdempotencyKey();
    return this.http.json<Workspace>("POST", this.path(), { body, headers: { "Idempotency-Key": key } });
  }

  async get(id: string): Promise<Workspace> {
    const response = await this.http.send("GET", this.path(id));
    this.remember(id, response);
    return (await response.json()) as Workspace;
  }

  /** `ifMatch`: default the ETag of the last read; `null` sends none (unconditional). */
  async update(id: string, patch: WorkspaceUpdate, options: { ifMatch?: string | null } = {}): Promise<Workspace> {
    const response = await this.http.send("PUT", this.path(id), {
      body: patch,
      headers: this.ifMatch(id, options.ifMatch),
    });
    this.remember(id, response);
    return (await response.json()) as Workspace;
  }

  async delete(id: string, options: { ifMatch?: string | null } = {}): Promise<{ message: string }> {
    const response = await this.http.send("DELETE", this.path(id), { headers: this.ifMatch(id, options.ifMatch) });
    this.etags.delete(id);
    return (await response.json()) as { message: string };
  }

  /** Who is present now, with each member's open connections (across every process). */
  presence(id: string): Promise<PresenceList> {
    return this.http.json<PresenceList>("GET", `${this.path(id)}/sync/presence`);
  }

  private ifMatch(id: string, given: string | null | undefined): Record<string, string> {
    const tag = given === undefined ? this.etags.get(id) : given;
    return tag ? { "If-Match": tag } : {};
  }

  private remember(id: string, response: Response): void {
    const tag = response.headers.get("etag");
    if (tag) this.etags.set(id, tag);
  }
}
