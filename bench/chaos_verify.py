"""The chaos run's proofs: what the load generator saw, checked against PostgreSQL and S3.

Every check returns figures and a list of violations (strings); the driver prints both and
exits non-zero on any violation. Event ids are positions in a workspace's total order
(`<seq>-<tag>`) and the events table holds every position (nothing is pruned within the
24 h retention), so a stream's expected events are exactly the table's rows between the
position it first started at and the last position it learned.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter, defaultdict
from typing import Any

OUTAGE_KINDS = ("postgres", "redis")  # faults whose 5xx (503) answers are expected
MARGIN_SECONDS = 15.0  # after an outage ends, pools and presence take a moment to recover


def check_writes(
    writes: list[dict[str, Any]],
    events: dict[str, list[tuple[int, str, Any]]],
    rows: dict[str, dict[str, Any]],
) -> tuple[dict[str, int], list[str]]:
    """Every acknowledged write is in the database (its event, and the final state)."""
    bad: list[str] = []
    tokens: set[tuple[str, str]] = set()
    created: set[str] = set()
    deleted: set[str] = set()
    for ws, evs in events.items():
        for _seq, kind, data in evs:
            if kind == "workspace.updated":
                tokens.add((ws, data.get("changes", {}).get("description")))
            elif kind == "workspace.created":
                created.add(ws)
            elif kind == "workspace.deleted":
                deleted.add(ws)
    figures: Counter[str] = Counter()
    per_ws: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for w in writes:
        status = w["status"]
        acked = (w["op"], status) in (
            ("put", 200),
            ("create", 201),
            ("delete", 200),
            ("delete", 204),
        )
        unknown = status is None or status >= 500
        figures["acked" if acked else "unknown outcome" if unknown else "refused (4xx)"] += 1
        if w["op"] == "put":
            per_ws[w["ws"]].append({**w, "acked": acked, "unknown": unknown})
        if not acked:
            continue
        if w["op"] == "put" and (w["ws"], w["token"]) not in tokens:
            bad.append(f"acked PUT {w['token']} on {w['ws']} has no workspace.updated event")
        elif w["op"] == "create" and w["ws"] not in created:
            bad.append(f"acked create {w['ws']} has no workspace.created event")
        elif w["op"] == "delete" and (w["ws"] in rows or w["ws"] not in deleted):
            bad.append(f"acked DELETE of {w['ws']}: row still there or no workspace.deleted")
    for ws, puts in per_ws.items():
        if ws not in rows:
            continue
        puts.sort(key=lambda p: p["t0"])
        last_acked = max((i for i, p in enumerate(puts) if p["acked"]), default=None)
        if last_acked is None:
            continue
        # A PUT the client gave up on may still commit later, even after a later acked one.
        allowed = {puts[last_acked]["token"]} | {p["token"] for p in puts if p["unknown"]}
        if rows[ws]["description"] not in allowed:
            bad.append(f"{ws}: description {rows[ws]['description']!r} is not the last acked write")
    return dict(figures), bad


def check_streams(
    result: dict[str, Any], events: dict[str, list[tuple[int, str, Any]]]
) -> tuple[dict[str, int], list[str]]:
    """Every committed event reached every stream open for it, in order, exactly once."""
    bad: list[str] = []
    fig: Counter[str] = Counter()
    behind = set(result["behind"])
    heads = result["heads"]
    for s in result["streams"]:
        fig["logical streams"] += 1
        fig["connections"] += s["connects"]
        fig["resumes"] += s["resumes"]
        fig["sync.timeout seen"] += s["timeouts"]
        for key in ("drops", "idle_drops", "refused"):
            fig[f"stream {key}"] += s[key]
        if s["first_start"] is None:
            fig["never connected (workspace deleted first)"] += 1
            continue
        received = [(seq, kind) for seq, kind in s["events"]]
        fig["events delivered"] += len(received)
        log = events.get(s["ws"], [])
        end = s["last_seq"]
        label = ""
        if s["idx"] in behind:  # still open at the end, but short of its head
            end, label = heads.get(s["ws"], end), "behind at the end"
        elif s["ended"] == "404" and not any(k == "workspace.deleted" for _, k in received):
            end, label = (log[-1][0] if log else end), "resume got 404 before workspace.deleted"
        expected = [(seq, kind) for seq, kind, _ in log if s["first_start"] < seq <= end]
        seqs = [seq for seq, _ in received]
        out_of_order = sum(1 for a, b in itertools.pairwise(seqs) if b <= a)
        doubled = len(seqs) - len(set(seqs))
        got = set(received)
        lost = [e for e in expected if e not in got]
        phantom = got - set(expected)
        fig["events expected"] += len(expected)
        fig["lost"] += len(lost)
        fig["doubled"] += doubled
        fig["out of order"] += out_of_order
        fig["phantom"] += len(phantom)
        fig["sync.reset"] += len(s["resets"])
        name = f"stream {s['idx']} ({s['ws'][:8]} {s['user']})"
        if lost:
            why = f" [{label}]" if label else ""
            bad.append(f"{name}: lost {len(lost)} events{why}, first {lost[:3]}")
        if doubled or out_of_order or phantom:
            bad.append(f"{name}: {doubled} doubled, {out_of_order} out of order, "
                       f"{len(phantom)} not in the log {sorted(phantom)[:3]}")  # fmt: skip
        for reset in s["resets"]:
            bad.append(f"{name}: sync.reset at {reset['id']}: {reset['data'][:200]}")
        for problem in s["problems"]:
            bad.append(f"{name}: {problem}")
    return dict(fig), bad


def check_presence(result: dict[str, Any]) -> tuple[dict[str, int], list[str]]:
    """After settling, each workspace's members are exactly the users holding streams there."""
    bad = [f"presence of {m['ws']}: {json.dumps(m)[:300]}" for m in result["presence_mismatches"]]
    fig = {"presence calls": result["presence_calls"],
           "visitors who could not leave": result["visitors_not_left"]}  # fmt: skip
    return fig, bad


def check_buckets(
    rows: dict[str, dict[str, Any]], buckets: set[str], prefix: str
) -> tuple[dict[str, int], list[str]]:
    """A bucket exists in S3 iff its workspace exists, and every workspace's bucket is active."""
    expected = {r["s3_bucket"] for r in rows.values()}
    ours = {b for b in buckets if b.startswith(prefix + "-")}
    bad = [f"orphan bucket {b} (no workspace)" for b in sorted(ours - expected)]
    bad += [f"missing bucket {b}" for b in sorted(expected - ours)]
    bad += [
        f"workspace {ws} bucket_status {r['bucket_status']} ({r['bucket_error']})"
        for ws, r in rows.items()
        if r["bucket_status"] != "active"
    ]
    return {"buckets in S3": len(ours), "workspaces": len(rows)}, bad


def check_5xx(
    errors: list[dict[str, Any]], windows: list[dict[str, Any]]
) -> tuple[dict[str, int], list[str]]:
    """No 5xx outside the database/Redis outage windows; none anywhere with a traceback."""
    bad: list[str] = []
    fig: Counter[str] = Counter()
    for e in errors:
        inside = [
            w["kind"]
            for w in windows
            if w["kind"] in OUTAGE_KINDS and w["t0"] - 1 <= e["t"] <= w["t1"] + MARGIN_SECONDS
        ]
        where = inside[0] if inside else "outside any outage"
        fig[f"{e['status']} {e['kind']} during {where}"] += 1
        if not inside:
            near = min(windows, key=lambda w: abs(w["t0"] - e["t"]), default=None)
            hint = (
                f" (nearest fault: {near['kind']} at {e['t'] - near['t0']:+.1f}s)" if near else ""
            )
            bad.append(f"{e['status']} on {e['kind']} (port {e['port']}){hint}: {e['body'][:150]}")
        if e["traceback"]:
            bad.append(f"{e['status']} on {e['kind']} with a traceback: {e['body'][:150]}")
    return dict(fig), bad
