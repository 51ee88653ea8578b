// The workspace list: the reference's filters (name contains, tag, region, active), pages by
// cursor (a stack of them for "Previous"), create, delete, and bucket statuses kept live:
// each row whose bucket is not settled gets a stream (presence off) until it is.
import type { ListPageParams, SyncHandle, Workspace, WorkspaceCreate } from "../../../clients/typescript/src/index.js";
import { announce, bucketBadge, fill, h, time } from "./dom.js";
import { WorkspaceForm } from "./form.js";
import type { Session } from "./session.js";

const UNSETTLED = new Set(["pending", "provisioning"]);
// Streams hold a connection each and a browser keeps about six per origin: watch a few at a time.
const MAX_WATCHED = 3;

export class ListView {
  readonly element: HTMLElement;
  private readonly tbody = h("tbody");
  private readonly summary = h("p", { class: "muted", id: "list-summary", role: "status" });
  private readonly notice = h("p", { class: "notice", role: "status", id: "list-notice" });
  private readonly previous = h("button", { type: "button", onclick: () => this.turn(-1) }, "Previous");
  private readonly next = h("button", { type: "button", onclick: () => this.turn(1) }, "Next");
  private readonly filters: HTMLFormElement;
  private readonly create: WorkspaceForm;
  private cursors: (string | null)[] = [null]; // cursors[i] opens page i
  private page = 0;
  private nextCursor: string | null = null;
  private readonly rows = new Map<string, HTMLTableRowElement>();
  private readonly watched = new Map<string, SyncHandle>();
  private loading = 0;
  private shown: Workspace[] = [];
  private destroyed = false;

  constructor(private readonly session: Session) {
    const field = (id: string, label: string, control: HTMLElement): HTMLElement =>
      h("div", { class: "field" }, h("label", { for: id }, label), control);
    this.filters = h(
      "form",
      { class: "filters", role: "search", "aria-label": "Filter workspaces", onsubmit: (event: Event) => {
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
        h("select", { id: "filter-active", name: "is_active" }, h("option", { value: "" }, "any"), h("option", { value: "true" }, "active"), h("option", { value: "false" }, "inactive")),
      ),
      field(
        "filter-limit",
        "Per page",
        h("select", { id: "filter-limit", name: "limit" }, ...[10, 25, 50, 100].map((n) => h("option", { value: n, selected: n === 25 }, String(n)))),
      ),
      h("div", { class: "actions" }, h("button", { type: "submit" }, "Apply")),
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
        this.tbody,
      ),
      h("nav", { class: "pager", "aria-label": "Pages" }, this.previous, this.summary, this.next),
      h("section", { class: "card", "aria-labelledby": "create-heading" }, h("h2", { id: "create-heading" }, "New workspace"), this.create.element),
    );
    void this.load();
  }

  destroy(): void {
    this.destroyed = true;
    for (const handle of this.watched.values()) handle.close();
    this.watched.clear();
  }

  private params(): ListPageParams {
    const data = new FormData(this.filters);
    const text = (name: string): string | undefined => {
      const v = String(data.get(name) ?? "").trim();
      return v || undefined;
    };
    const active = text("is_active");
    const params: ListPageParams = { limit: Number(text("limit") ?? 25), cursor: this.cursors[this.page] ?? null };
    const q = text("q"), tag = text("tag"), region = text("region");
    if (q) params.q = q;
    if (tag) params.tag = tag;
    if (region) params.region = region;
    if (active) params.is_active = active === "true";
    return params;
  }

  private async load(): Promise<void> {
    const ticket = ++this.loading;
    const params = this.params();
    try {
      const page = await this.session.client.workspaces.listPage(params);
      if (ticket !== this.loading || this.destroyed) return;
      this.nextCursor = page.has_more ? (page.next_cursor ?? null) : null;
      this.render(page.workspaces, page.total, params.limit ?? 25);
    } catch (error) {
      if (ticket === this.loading) this.say(`Could not load workspaces: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  private render(workspaces: Workspace[], total: number, limit: number): void {
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

  private row(ws: Workspace): HTMLTableRowElement {
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
      h("td", {}, remove),
    );
    this.rows.set(ws.workspace_id, row);
    return row;
  }

  /** Follow unsettled buckets live (a few streams at a time); close what left the page. */
  private watch(workspaces: Workspace[]): void {
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
        { presence: false },
      );
      this.watched.set(id, handle);
    }
  }

  private bucketChanged(id: string, status: string): void {
    const cell = this.rows.get(id)?.querySelector("td.bucket");
    if (cell && cell.textContent !== status) {
      fill(cell, bucketBadge(status));
      announce(`Bucket of ${this.rows.get(id)?.querySelector("a")?.textContent ?? id}: ${status}`);
    }
    const shown = this.shown.find((ws) => ws.workspace_id === id);
    if (shown) shown.bucket_status = status as Workspace["bucket_status"];
    if (!UNSETTLED.has(status)) {
      this.watched.get(id)?.close();
      this.watched.delete(id);
      if (!this.destroyed) this.watch(this.shown); // another unsettled row may take the slot
    }
  }

  private turn(step: 1 | -1): void {
    if (step === 1) {
      if (this.nextCursor === null) return;
      this.cursors[this.page + 1] = this.nextCursor;
    } else if (this.page === 0) return;
    this.page += step;
    void this.load();
  }

  private async submitCreate(): Promise<void> {
    this.create.clearErrors();
    try {
      const created = await this.session.client.workspaces.create(this.create.read(false) as WorkspaceCreate);
      this.create.reset();
      this.say(`Created “${created.name}”.`);
      this.cursors = [null];
      this.page = 0;
      await this.load();
    } catch (error) {
      this.create.showError(error);
    }
  }

  private async remove(ws: Workspace): Promise<void> {
    if (!window.confirm(`Delete workspace “${ws.name}” and its bucket?`)) return;
    try {
      await this.session.client.workspaces.delete(ws.workspace_id, { ifMatch: null });
      this.say(`Deleted “${ws.name}”.`);
      await this.load();
    } catch (error) {
      this.say(`Could not delete “${ws.name}”: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  private say(text: string): void {
    this.notice.textContent = text;
  }
}
