// Who is here: each member, their open streams and what they view. The stream's presence
// events keep the list (SyncHandle.members()); the connection counts are read again from
// `GET …/sync/presence` after each change (a join event does not carry them) and every
// 15 s (a second tab opened by someone present sends no event).
import type { Member, SyncHandle } from "../../../clients/typescript/src/index.js";
import { fill, h, time } from "./dom.js";
import { viewingText } from "./events.js";
import type { Session } from "./session.js";

export class PresencePanel {
  readonly element: HTMLElement;
  private readonly list = h("ul", { class: "members", id: "members" });
  private asked = 0;
  private readonly timer = setInterval(() => void this.refresh(), 15_000);

  constructor(private readonly session: Session, private readonly workspaceId: string) {
    this.element = h(
      "aside",
      { class: "card presence", "aria-labelledby": "presence-heading" },
      h("h2", { id: "presence-heading" }, "Here now"),
      this.list,
    );
  }

  destroy(): void {
    clearInterval(this.timer);
  }

  /** The stream's view of the members now; then the server's counts. */
  update(handle: SyncHandle): void {
    this.render(handle.members());
    void this.refresh();
  }

  private async refresh(): Promise<void> {
    const ticket = ++this.asked;
    try {
      const body = await this.session.client.workspaces.presence(this.workspaceId);
      if (ticket === this.asked) this.render(body.members);
    } catch {
      /* the stream's list stays shown */
    }
  }

  private render(members: Member[]): void {
    const sorted = [...members].sort((a, b) => a.user_id.localeCompare(b.user_id));
    if (!sorted.length) {
      fill(this.list, h("li", { class: "muted" }, "Nobody (yet)."));
      return;
    }
    fill(
      this.list,
      ...sorted.map((m) =>
        h(
          "li",
          { "data-user": m.user_id },
          h("span", { class: "avatar", "aria-hidden": "true" }, m.user_id.slice(0, 1).toUpperCase()),
          h(
            "div",
            {},
            h("strong", { class: "user" }, m.user_id, m.user_id === this.session.userId ? " (you)" : ""),
            h("span", { class: "connections" }, `${m.connections} connection${m.connections === 1 ? "" : "s"}`),
            h("span", { class: "viewing" }, `viewing: ${viewingText(m.viewing)}`),
            h("span", { class: "since muted" }, `since ${time(m.since)}`),
          ),
        ),
      ),
    );
  }
}
