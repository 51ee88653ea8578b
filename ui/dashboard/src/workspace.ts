// One workspace, live: its fields, an edit form (If-Match from the last read; a 412 says
// someone changed it first), the event log and who is here. The page's tabs are announced
// with SyncHandle.view("tab", name), so two people see each other move between them. The
// connection state (connecting, live, reconnecting, reset) is shown, never hidden.
import { ConflictError, NotFoundError, type SyncHandle, type SyncStatus, type Workspace, type WorkspaceUpdate } from "../../../clients/typescript/src/index.js";
import { announce, bucketBadge, fill, h, show, time } from "./dom.js";
import { EventLog } from "./events.js";
import { WorkspaceForm } from "./form.js";
import { PresencePanel } from "./presence.js";
import type { Session } from "./session.js";

export const TABS = ["fields", "edit", "events"] as const;
export type Tab = (typeof TABS)[number];
const TAB_LABELS: Record<Tab, string> = { fields: "Fields", edit: "Edit", events: "Events" };
const STATUS_TEXT: Record<SyncStatus, string> = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting…",
  closed: "Disconnected",
};
const FIELDS: (keyof Workspace)[] = [
  "workspace_id", "name", "description", "owner_id", "subscription_plan_id", "is_active", "tags",
  "region", "s3_bucket", "bucket_status", "bucket_error", "created_at", "updated_at",
];
const EDITABLE = ["name", "description", "subscription_plan_id", "tags", "is_active"] as const;

export class WorkspaceView {
  readonly element: HTMLElement;
  private readonly title = h("h1", { id: "ws-title" }, "Workspace");
  private readonly state = h("span", { class: "badge state-connecting", id: "sync-state", role: "status" }, STATUS_TEXT.connecting);
  private readonly banner = h("p", { class: "banner", id: "sync-banner", hidden: true });
  private readonly bucket = h("span", { id: "ws-bucket" });
  private readonly fields = h("dl", { class: "fields", id: "fields" });
  private readonly staleNote = h("p", { class: "notice", id: "edit-stale", hidden: true });
  private readonly tabs = new Map<Tab, HTMLButtonElement>();
  private readonly panels = new Map<Tab, HTMLElement>();
  private readonly log = new EventLog();
  private readonly presence: PresencePanel;
  private readonly form: WorkspaceForm;
  private readonly handle: SyncHandle;
  /** The version the edit form shows (its ETag is the client's, from the same read). */
  private loaded: Workspace | null = null;
  private tab: Tab;
  private announced: Promise<void> = Promise.resolve();

  constructor(private readonly session: Session, readonly workspaceId: string, tab: Tab) {
    this.tab = tab;
    this.presence = new PresencePanel(session, workspaceId);
    this.form = new WorkspaceForm("edit", "Save changes", () => void this.save(), ["region"]);
    const tablist = h("div", { class: "tabs", role: "tablist", "aria-label": "Workspace", onkeydown: (e: Event) => this.arrow(e as KeyboardEvent) });
    for (const name of TABS) {
      const button = h(
        "button",
        { type: "button", role: "tab", id: `tab-${name}`, "aria-controls": `panel-${name}`, onclick: () => this.go(name) },
        TAB_LABELS[name],
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
      const panel = this.panels.get(name) as HTMLElement;
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
      h("div", { class: "columns" }, h("div", { class: "main-column" }, tablist, ...panels), this.presence.element),
    );
    this.handle = session.client.sync(workspaceId, {
      onStatus: (status) => this.status(status),
      onWorkspace: (ws) => this.show(ws),
      onMembers: () => this.presence.update(this.handle),
      onEvent: (event) => {
        this.log.add(event);
        if (event.type === "sync.reset") this.say(`The server could not replay what was missed (${event.data.reason}): the fields were reloaded, the log may have a gap.`);
        if (event.type === "sync.connected" && event.data.resumed) this.say(null);
        if (event.type === "workspace.updated" && event.actor_id !== session.userId) announce(`${event.actor_id ?? "Someone"} changed ${Object.keys(event.data.changes).join(", ")}`);
      },
      onError: (error) => {
        if (error instanceof NotFoundError) this.say("This workspace does not exist (or was deleted).");
      },
    });
    this.select(tab);
    void this.loadForm();
  }

  destroy(): void {
    this.presence.destroy();
    this.handle.close();
  }

  /** Show `tab` and tell the others (presence: viewing tab/<name>). */
  select(tab: Tab): void {
    this.tab = tab;
    for (const name of TABS) {
      const selected = name === tab;
      const button = this.tabs.get(name) as HTMLButtonElement;
      button.setAttribute("aria-selected", String(selected));
      button.tabIndex = selected ? 0 : -1;
      (this.panels.get(name) as HTMLElement).hidden = !selected;
    }
    // After the stream is live (so a viewer's connection is counted when others hear of
    // them), and one after another (the last tab chosen is the last one announced).
    this.announced = this.announced.then(() => this.handle.ready).then(() => this.handle.view("tab", tab)).catch(() => undefined);
  }

  private go(tab: Tab): void {
    location.hash = `#/workspaces/${encodeURIComponent(this.workspaceId)}/${tab}`;
  }

  private arrow(event: KeyboardEvent): void {
    const step = event.key === "ArrowRight" ? 1 : event.key === "ArrowLeft" ? -1 : 0;
    if (!step) return;
    const next = TABS[(TABS.indexOf(this.tab) + step + TABS.length) % TABS.length] as Tab;
    this.go(next);
    this.tabs.get(next)?.focus();
  }

  private status(status: SyncStatus): void {
    this.state.textContent = STATUS_TEXT[status];
    this.state.className = `badge state-${status}`;
    this.state.dataset["state"] = status;
    if (status === "reconnecting") this.say("Connection lost: reconnecting. Nothing is missed: the stream resumes after the last event received.");
    if (status === "live" && this.banner.dataset["kind"] === "reconnecting") this.say(null);
  }

  private say(text: string | null): void {
    this.banner.hidden = text === null;
    this.banner.textContent = text ?? "";
    this.banner.dataset["kind"] = text?.startsWith("Connection lost") ? "reconnecting" : text ? "notice" : "";
  }

  private show(ws: Workspace | null): void {
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
        const text = field.endsWith("_at") ? time(value as string) : typeof value === "string" ? value : show(value);
        return [h("dt", {}, field), h("dd", { "data-field": field }, text)];
      }),
    );
    if (this.loaded && ws.updated_at !== this.loaded.updated_at) {
      this.staleNote.hidden = false;
      this.staleNote.textContent = "This workspace changed since the form was loaded: saving will be refused until you load the latest.";
    }
  }

  private async loadForm(): Promise<void> {
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

  private async save(): Promise<void> {
    if (!this.loaded) return;
    const body = this.form.read(true);
    const patch: Record<string, unknown> = {};
    for (const field of EDITABLE) {
      if (JSON.stringify(body[field] ?? null) !== JSON.stringify(this.loaded[field] ?? null)) patch[field] = body[field] ?? null;
    }
    this.form.clearErrors();
    if (!Object.keys(patch).length) return this.form.message("Nothing changed.", "ok");
    try {
      // If-Match: the ETag of the read this form shows (the client keeps it per workspace).
      const saved = await this.session.client.workspaces.update(this.workspaceId, patch as WorkspaceUpdate);
      this.loaded = saved;
      this.form.load(saved);
      this.staleNote.hidden = true;
      this.form.message(`Saved (${Object.keys(patch).join(", ")}).`, "ok");
    } catch (error) {
      if (error instanceof ConflictError) {
        this.form.message(
          "Not saved: someone changed this workspace after you loaded it (412 Precondition Failed). Load the latest version, then make your edit again.",
          "conflict",
        );
        return;
      }
      this.form.showError(error);
    }
  }

  private async remove(): Promise<void> {
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
}
