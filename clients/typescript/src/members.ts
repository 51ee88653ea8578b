// Who is in a workspace, as a sync handle knows it: the snapshot of each `sync.connected`
// (or of the leading tab), then each presence event applied on top.
import type { Member, SyncEvent } from "./types.js";

type PresenceEvent = Extract<SyncEvent, { type: "presence.joined" | "presence.left" | "presence.viewing" }>;

export class Members {
  private readonly byUser = new Map<string, Member>();

  list(): Member[] {
    return [...this.byUser.values()];
  }

  replace(members: readonly Member[]): void {
    this.byUser.clear();
    for (const m of members) this.byUser.set(m.user_id, m);
  }

  apply(event: PresenceEvent): void {
    const before = this.byUser.get(event.data.user_id);
    switch (event.type) {
      case "presence.joined":
        // The event carries no connection count; a member already known keeps theirs.
        this.byUser.set(event.data.user_id, {
          user_id: event.data.user_id,
          connections: before?.connections ?? 0,
          viewing: event.data.viewing,
          since: event.data.since,
        });
        return;
      case "presence.left":
        this.byUser.delete(event.data.user_id);
        return;
      case "presence.viewing":
        if (before) this.byUser.set(event.data.user_id, { ...before, viewing: event.data.viewing });
        return;
    }
  }
}
