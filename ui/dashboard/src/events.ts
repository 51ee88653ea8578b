// The live event log: one row per event (time, type, id, actor, what changed), newest first,
// the stream's own markers (connected, resumed, reset) among them.
import type { SyncEvent, ViewedResource } from "../../../clients/typescript/src/index.js";
import { fill, h, show, time } from "./dom.js";

const KEEP = 200;

export function viewingText(viewing: ViewedResource | null | undefined): string {
  if (!viewing) return "—";
  return viewing.resource_type === "tab" ? `${viewing.resource_id} tab` : `${viewing.resource_type} ${viewing.resource_id}`;
}

/** What an event changed, as short "field = value" parts. */
export function changesOf(event: SyncEvent): string[] {
  switch (event.type) {
    case "workspace.updated":
      return Object.entries(event.data.changes).map(([field, value]) => `${field} = ${show(value)}`);
    case "workspace.created":
      return [`name = ${show(event.data.workspace.name)}`];
    case "workspace.bucket_status_changed":
      return [`bucket_status = ${event.data.bucket_status}`, ...(event.data.bucket_error ? [`bucket_error = ${show(event.data.bucket_error)}`] : [])];
    case "presence.joined":
      return [`${event.data.user_id} joined`];
    case "presence.left":
      return [`${event.data.user_id} left (${event.data.reason})`];
    case "presence.viewing":
      return [`${event.data.user_id} views ${viewingText(event.data.viewing)}`];
    case "sync.connected":
      return [event.data.resumed ? "resumed: nothing missed" : "connected"];
    case "sync.reset":
      return [`reset (${event.data.reason}): missed events could not be replayed; fields reloaded`];
    default:
      return [];
  }
}

export class EventLog {
  readonly element: HTMLElement;
  private readonly tbody = h("tbody", { id: "event-rows" });
  private readonly empty = h("p", { class: "muted" }, "No events yet: changes made anywhere show up here as they happen.");

  constructor() {
    this.element = h(
      "div",
      { class: "event-log" },
      this.empty,
      h(
        "table",
        { id: "events" },
        h("caption", { class: "visually-hidden" }, "Live event log, newest first"),
        h("thead", {}, h("tr", {}, ...["Time", "Type", "Event id", "Actor", "Changes"].map((c) => h("th", { scope: "col" }, c)))),
        this.tbody,
      ),
    );
  }

  add(event: SyncEvent): void {
    this.empty.hidden = true;
    const row = h(
      "tr",
      { class: event.type.startsWith("sync.") ? "marker" : "", "data-type": event.type },
      h("td", {}, h("time", { datetime: event.occurred_at }, time(event.occurred_at))),
      h("td", {}, h("code", {}, event.type)),
      h("td", { class: "event-id" }, event.id ?? "—"),
      h("td", { class: "actor" }, event.actor_id ?? "—"),
      h("td", { class: "changes" }),
    );
    const changes = row.lastElementChild as HTMLElement;
    fill(changes, ...changesOf(event).flatMap((c, i) => (i ? [h("br"), c] : [c])));
    this.tbody.prepend(row);
    while (this.tbody.rows.length > KEEP) this.tbody.lastElementChild?.remove();
  }
}
