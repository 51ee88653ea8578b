"""The Redis presence store's Lua scripts (`lua/*.lua`): each presence step is one atomic script.

Keys (P = prefix): `P:u:<ws>:<user>` hash of a member (o org, j joined, t until, vt/vi
viewing, v version, r reason, n streams, c:<proc> streams held by one process);
`P:cn:<ws>` hash user -> streams; `P:due` zset of `<ws>|<user>` by deadline;
`P:procs` zset of process leases; `P:ph:<proc>` set of members a process holds streams of;
`P:epoch` marks the store's lifetime (a Redis restart loses it).

The per-member scripts start with `prelude.lua` (the member's hash and its helpers).
"""

from __future__ import annotations

from importlib.resources import files

PER_MEMBER = ("touch", "leave", "streams", "settle", "seed")


def _read(name: str) -> str:
    return files(__package__).joinpath("lua", f"{name}.lua").read_text(encoding="utf-8")


def script(name: str) -> str:
    """The source of one script, with the prelude the per-member scripts share."""
    body = _read(name)
    return _read("prelude") + body if name in PER_MEMBER else body
