"""The Redis presence store's key layout and Lua scripts (`lua/*.lua`).

One layout for a single Redis and a Redis Cluster: every script gets every key it touches
in KEYS, and those keys share one hash tag (one Cluster slot). A step that spans slots is
several scripts, ordered so that a crash between them leaves nothing a later step cannot
repair.

Keys (P = `<prefix>:presence`):
- `P:{<ws>}:u:<user>` hash of a member (o org, j joined, t until, vt/vi viewing, v version,
  r reason, n streams, c:<proc> streams held by one process) and `P:{<ws>}:cn` hash
  user -> streams: a workspace's keys carry `{<ws>}`, so each per-member script (`touch`,
  `leave`, `streams`, `settle`, `seed`, `reap`, all starting with `prelude.lua`) is atomic
  in the workspace's slot.
- `P:{due:<k>}` zset `<ws>|<user>` -> due hint and `P:{due:<k>}:g` hash `<ws>|<user>` ->
  generation, for k = crc32(ws) mod `DUE_SHARDS`: when to settle whom, across workspaces.
- `P:{procs}` zset process -> lease deadline and `P:{procs}:h:<proc>` set of the
  `<ws>|<user>` members a process holds streams of: process leases, in one slot.
- `P:{epoch}` (single node), or `P:{epoch:<i>}` per master with i chosen so the key falls
  in a slot that master serves (recomputed from the topology each time): a token each,
  lost with its master's data, so `maintain` sees a restart of any one master.

Due hints. A per-member script cannot also write a global deadline index (another slot),
so the index holds hints, written by the caller after the member's script:
- Invariant: every member with a deadline t (joined, no stream) has a hint <= t. A hint may
  be early (one extra settle, harmless) or left over, never late or missing.
- A member script returns the deadline to hint when it sets one that is new or earlier
  than the member's previous one (`prelude.hint`); a later deadline keeps the old hint,
  which is early now. The caller then runs `hint.lua` in the member's due shard: `ZADD LT`
  (hints only move earlier) and a fresh random generation for the entry.
- The sweeper (`due.lua`) reads entries due by now with their generations, settles each
  member (`settle.lua` returns its real deadline or none), then `resched.lua`: if the
  generation is unchanged (no hint written meanwhile) the entry becomes the real deadline,
  or goes; otherwise it stays, early, for the next sweep. A step racing the sweep either
  ran before the settle (which saw it) or writes its hint after the read (new generation).
  Generations are random, so a removed and re-added entry never looks unchanged.
- A hint write that fails is kept by the store and retried before the next sweep reads
  (`RedisPresenceStore.due`); a recovered store seeds every announced member, and `seed`
  returns the deadline of a member already there, so hints lost with a master come back.
  A process killed between a member's script and its hint write can leave that member
  without a hint: the window is one round trip, and its streams are reaped (with hints)
  as for any dead process; a join in that window is the one case left unrepaired.

Process leases. `lease.lua` renews ours and names dead processes; the caller reaps each:
it reads the dead process's held set, runs `reap.lua` per member (in the member's slot,
idempotent: the `c:<proc>` field goes with the first reap, and the member's deadline
becomes the process's last renewal plus the grace), then `drop.lua` deletes the set and
the lease. A crash midway leaves both for the next reaper. A process adds a member to its
held set before the `streams` script that gives it a count there, and removes it after
the one that takes the count away, so a crash never leaves a count the reaper cannot find.
"""

from __future__ import annotations

from importlib.resources import files

PER_MEMBER = ("touch", "leave", "streams", "settle", "seed", "reap")
DUE_SHARDS = 16


def _read(name: str) -> str:
    return files(__package__).joinpath("lua", f"{name}.lua").read_text(encoding="utf-8")


def script(name: str) -> str:
    """The source of one script, with the prelude the per-member scripts share."""
    body = _read(name)
    return _read("prelude") + body if name in PER_MEMBER else body
