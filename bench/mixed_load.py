"""Mixed load (issue 14): streams, presence and updates on many workspaces at once.

Usage: .venv/bin/python bench/mixed_load.py [--workspaces 2000] [--viewers 5] [--updates 100]
           [--viewing 150] [--refresh 20] [--seconds 300] [--scale 1] [--mode embedded|scaled]
           [--procs N] [--sizes 1000,5000,10000]

`--workspaces` x `--viewers` streams (10,000 by default), each viewer a distinct user with
a JWT signed with the bench secret, who joined presence once its stream was live. Then, for
`--seconds`: every user refreshes presence (a `join`) every `--refresh` s, `--viewing`
changes of viewed resource per second over random users, `--updates` workspace updates
(PUT `{"description"}`) per second over random workspaces. `--scale K` multiplies both
rates and divides the refresh period: `--scale 4` is the issue's 4x mix (400 updates/s,
600 viewing changes/s, refresh every 5 s). Example, small: `--workspaces 100 --seconds 30`.

`--mode embedded` (default) runs `mechamental serve` on SQLite in a temp dir; `scaled` runs
`serve --workers 2` on a PostgreSQL database of its own (127.0.0.1:5432, dropped after) and
Redis (127.0.0.1:6379, a prefix of its own, whose keys are deleted after). Everything is
removed at exit, Ctrl-C included. The load runs in `--procs` generator processes
(bench/load_gen.py; default one per 5,000 streams), each owning a slice of the workspaces.

Reported:
- delivered events (every event frame received by a stream during the load), lost and
  doubled: per stream, every event of its workspace after its connect must arrive in seq
  order exactly once (a gap is lost, a repeat doubled), and at the end each stream must
  have reached its workspace's head (`workspaces.event_seq`, read from the database);
- delivery latency per delivered event, p50/p99/max: `commit` = receipt minus the event's
  `occurred_at` (stamped in the transaction that commits it; same host clock), and `sent` =
  receipt minus when the generator wrote the request that caused it (updates and viewing
  changes, matched by a unique token);
- presence call latency (refresh joins and viewing changes) from the request's send, and
  from its scheduled time (which adds any wait for a free connection of the generator's);
- errors: non-2xx answers, transport resets/refusals, stream reconnects, calls skipped
  because a generator had 2,000 in flight;
- server CPU (all its processes) over the load, per delivered event and per call (the same
  total divided by each count), idle CPU with the streams open, server RSS, and each
  generator process's CPU (above ~70 % of a core, the generator is the limit: add --procs);
  scaled, also the CPU of the PostgreSQL backends connected to our database and of the Redis
  server (shared: whatever else uses it is counted too), and the server's per process;
- the first gaps in detail, if any (which stream, which seqs, how long after its connect).

The generators' keep-alive pools (`--pool`, 64 connections per process) are the clients'
concurrency: a server slower than the offered rate shows as the gap between call latency
from send and from schedule (open loop; a generator with 2,000 calls in flight skips more).
The machine is shared: print `uptime` with the figures.

`--sizes 1000,5000,10000` (benchmark 5) runs one fresh server per stream count and prints a
row each. The per-stream rates are kept: N streams are N/viewers workspaces, and updates and
viewing changes scale with N (10,000 streams get the rates given, 1,000 a tenth), refresh
period unchanged; so the load per stream is the same and CPU per delivered event shows what
the stream count itself costs.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path
from typing import Any

import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load_gen import (
    Backend,
    Generators,
    Server,
    calls_of,
    create_workspaces,
    merged,
    ms_stats,
    on_signals,
    percentile,
    print_gaps,
    raise_nofile,
    split,
    statuses,
    summed,
)


def run_one(
    args: argparse.Namespace, workspaces: int, updates: float, viewing: float, refresh: float
) -> dict[str, Any]:
    """One server, one load; the figures."""
    streams = workspaces * args.viewers
    backend = Backend(args.mode, "mixed")
    server: Server | None = None
    gens: Generators | None = None
    try:
        backend.env.update(kv.split("=", 1) for kv in args.server_env)
        backend.setup()
        server = Server(backend, workers=2 if args.mode == "scaled" else 1)
        server.start()
        server.wait_ready()
        time.sleep(3.0 if args.mode == "scaled" else 0.5)  # every worker up
        ids = uvloop.run(create_workspaces(server.port, workspaces))
        procs = args.procs or max(1, math.ceil(streams / 5000))
        configs = []
        for i, part in enumerate(split(ids, procs)):
            share = len(part) / workspaces
            configs.append(
                {
                    "index": i,
                    "seed": 1000 + i,
                    "port": server.port,
                    "workspaces": part,
                    "viewers": args.viewers,
                    "join": True,
                    "seconds": args.seconds,
                    "refresh": refresh,
                    "update_rate": updates * share,
                    "viewing_rate": viewing * share,
                    "heads": backend.heads_source(),
                    "pool": args.pool,
                    "settle_seconds": 60,
                }
            )
        started = time.monotonic()
        gens = Generators(configs, backend.data)
        gens.wait_all("ready", 900)
        setup_s = time.monotonic() - started
        rss_ready = server.rss_kb()
        cpu0 = server.cpu()
        time.sleep(5)
        idle = (server.cpu() - cpu0) / 5
        peak = [rss_ready]

        def sample() -> None:
            peak[0] = max(peak[0], server.rss_kb()) if server is not None else peak[0]

        gens.send("go")
        t0, cpu0, by0 = time.time(), server.cpu(), server.cpu_by_process()
        stores0 = backend.store_cpu()
        t1 = gens.wait_all("stopped", args.seconds + 120, tick=sample)
        cpu, by1 = server.cpu() - cpu0, server.cpu_by_process()
        stores = {k: v - stores0.get(k, 0.0) for k, v in backend.store_cpu().items()}
        by_process = sorted((by1[p] - by0.get(p, 0.0) for p in by1), reverse=True)
        sample()
        gens.send("settle")
        gens.wait_all("done", 300)
        results = gens.results()
    finally:
        if gens is not None:
            gens.stop()
        if server is not None:
            server.stop()
        backend.teardown(args.logs)
    wall = t1 - t0
    presence = calls_of(results, "join") + calls_of(results, "viewing")
    puts = calls_of(results, "put")
    calls = len(presence) + len(puts)
    delivered = summed(results, "delivered")
    return {
        "streams": streams,
        "workspaces": workspaces,
        "updates": updates,
        "viewing": viewing,
        "refresh": refresh,
        "procs": len(results),
        "setup_s": setup_s,
        "wall": wall,
        "delivered": delivered,
        "lost": summed(results, "lost"),
        "gaps": summed(results, "gaps"),
        "behind": summed(results, "behind_streams"),
        "doubled": summed(results, "doubled"),
        "resets": summed(results, "resets"),
        "reconnects": summed(results, "connects") - streams,
        "stream_statuses": _add([r["stream_statuses"] for r in results]),
        "skipped": summed(results, "skipped"),
        "lat_commit": sorted(merged(results, "lat_commit")),
        "lat_update": sorted(merged(results, "lat_update")),
        "lat_view": sorted(merged(results, "lat_view")),
        "presence_sent": sorted(done - sent for _d, sent, done, _s in presence),
        "presence_due": sorted(done - due for due, _s, done, _st in presence),
        "join_sent": sorted(done - sent for _d, sent, done, _s in calls_of(results, "join")),
        "view_sent": sorted(done - sent for _d, sent, done, _s in calls_of(results, "viewing")),
        "put_sent": sorted(done - sent for _d, sent, done, _s in puts),
        "presence_statuses": statuses(presence),
        "put_statuses": statuses(puts),
        "joins": len(calls_of(results, "join")),
        "views": len(calls_of(results, "viewing")),
        "puts": len(puts),
        "calls": calls,
        "server_cpu": cpu,
        "idle_cpu": idle,
        "cpu_by_process": by_process,
        "stores": stores,
        "rss_ready_kb": rss_ready,
        "rss_peak_kb": peak[0],
        "results": results,
        "t0": t0,
        "gen_cpu": [r["generator_cpu"] / max(r["wall"], 1e-9) for r in results],
    }


def _add(dicts: list[dict[str, int]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for d in dicts:
        for k, v in d.items():
            out[k] = out.get(k, 0) + v
    return out


def report(r: dict[str, Any], mode: str) -> None:
    """Every figure of one run."""
    wall = r["wall"]
    print(
        f"\nmixed load, {mode}: {r['streams']} streams = {r['workspaces']} workspaces x "
        f"{r['streams'] // r['workspaces']} viewers (distinct users, joined), {wall:.0f} s "
        f"(setup {r['setup_s']:.0f} s)"
    )
    print(
        f"  offered: {r['updates']:.0f} updates/s, {r['viewing']:.0f} viewing changes/s, "
        f"refresh every {r['refresh']:g} s ({r['streams'] / r['refresh']:.0f} joins/s)"
    )
    print(
        f"  sent:    {r['puts'] / wall:.0f} updates/s, {r['views'] / wall:.0f} viewing/s, "
        f"{r['joins'] / wall:.0f} joins/s; skipped (generator backlog) {r['skipped']}"
    )
    print(
        f"  delivered {r['delivered']} events ({r['delivered'] / wall:.0f}/s); lost "
        f"{r['lost']} (gaps {r['gaps']}, streams short of head {r['behind']}), doubled "
        f"{r['doubled']}, resets {r['resets']}, reconnects {r['reconnects']}"
    )
    print_gaps(r["results"], r["t0"])
    print(f"  delivery, commit (occurred_at) -> receipt, all events: {ms_stats(r['lat_commit'])}")
    print(f"  delivery, request sent -> receipt, updates:       {ms_stats(r['lat_update'])}")
    print(f"  delivery, request sent -> receipt, viewing:       {ms_stats(r['lat_view'])}")
    print(
        f"  presence calls ({len(r['presence_sent'])}), from send:  {ms_stats(r['presence_sent'])}"
    )
    print(f"    refresh joins, from send:           {ms_stats(r['join_sent'])}")
    print(f"    viewing changes, from send:         {ms_stats(r['view_sent'])}")
    print(f"  presence calls, from schedule:        {ms_stats(r['presence_due'])}")
    print(f"  updates ({r['puts']}), from send:           {ms_stats(r['put_sent'])}")
    print(
        f"  answers: presence {r['presence_statuses']}, updates {r['put_statuses']}, "
        f"stream opens not 200 {r['stream_statuses'] or 'none'}"
    )
    cpu = r["server_cpu"]
    print(
        f"  server CPU {100 * cpu / wall:.0f} % of a core (idle with streams open "
        f"{100 * r['idle_cpu']:.1f} %): {1e6 * cpu / max(r['delivered'], 1):.0f} us per "
        f"delivered event, {1e6 * cpu / max(r['calls'], 1):.0f} us per call (same total)"
    )
    if len(r["cpu_by_process"]) > 1:
        each = ", ".join(f"{100 * c / wall:.0f} %" for c in r["cpu_by_process"])
        print(f"  server CPU by process (supervisor and workers): {each}")
    if r["stores"]:
        pg, rd = r["stores"]["postgres"], r["stores"]["redis"]
        print(
            f"  PostgreSQL backends of our database {100 * pg / wall:.0f} % of a core, Redis "
            f"server {100 * rd / wall:.0f} % (shared with others' use); with the server: "
            f"{1e6 * (cpu + pg + rd) / max(r['delivered'], 1):.0f} us per delivered event"
        )
    print(
        f"  server RSS {r['rss_ready_kb'] / 1024:.0f} MB with streams open, peak "
        f"{r['rss_peak_kb'] / 1024:.0f} MB"
    )
    gen = ", ".join(f"{100 * c:.0f} %" for c in r["gen_cpu"])
    print(f"  generator CPU ({r['procs']} processes): {gen} of a core each", flush=True)


HEADER = (
    f"{'streams':>7} {'upd/s':>6} {'view/s':>6} {'join/s':>6} {'deliv/s':>7} {'lost':>5} "
    f"{'dbl':>4} {'p50 ms':>7} {'p99 ms':>7} {'pres p99':>8} {'srv %':>6} "
    f"{'us/event':>8} {'us/call':>7} {'RSS MB':>6} {'gen %':>6}"
)


def row(r: dict[str, Any]) -> str:
    """One line of the --sizes table."""
    wall, cpu = r["wall"], r["server_cpu"]
    lat = r["lat_commit"]
    return (
        f"{r['streams']:>7} {r['puts'] / wall:>6.0f} {r['views'] / wall:>6.0f} "
        f"{r['joins'] / wall:>6.0f} {r['delivered'] / wall:>7.0f} {r['lost']:>5} "
        f"{r['doubled']:>4} {1e3 * percentile(lat, 50):>7.1f} {1e3 * percentile(lat, 99):>7.1f} "
        f"{1e3 * percentile(r['presence_sent'], 99):>8.1f} {100 * cpu / wall:>6.0f} "
        f"{1e6 * cpu / max(r['delivered'], 1):>8.0f} {1e6 * cpu / max(r['calls'], 1):>7.0f} "
        f"{r['rss_peak_kb'] / 1024:>6.0f} {100 * max(r['gen_cpu']):>6.0f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workspaces", type=int, default=2000)
    parser.add_argument("--viewers", type=int, default=5, help="streams (users) per workspace")
    parser.add_argument("--updates", type=float, default=100.0, help="workspace updates/s")
    parser.add_argument("--viewing", type=float, default=150.0, help="viewing changes/s")
    parser.add_argument("--refresh", type=float, default=20.0, help="presence refresh period, s")
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="x updates and viewing rates, / refresh period (4: the 4x mix)",
    )
    parser.add_argument("--mode", choices=["embedded", "scaled"], default="embedded")
    parser.add_argument("--procs", type=int, default=0, help="generator processes (0: auto)")
    parser.add_argument(
        "--pool", type=int, default=64, help="keep-alive connections per generator process"
    )
    parser.add_argument(
        "--sizes", default="", help="stream counts, one run each at the same per-stream rates"
    )
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an extra setting for the server, e.g. MECHAMENTAL_RETRY_MS=6000",
    )
    parser.add_argument("--logs", default="", help="copy the server logs into this directory")
    args = parser.parse_args()
    raise_nofile()
    on_signals()
    updates, viewing = args.updates * args.scale, args.viewing * args.scale
    refresh = args.refresh / args.scale
    try:
        if not args.sizes:
            report(run_one(args, args.workspaces, updates, viewing, refresh), args.mode)
            return
        base = args.workspaces * args.viewers
        rows = []
        for n in [int(s) for s in args.sizes.split(",") if s]:
            f = n / base
            r = run_one(args, max(1, n // args.viewers), updates * f, viewing * f, refresh)
            report(r, args.mode)
            rows.append(row(r))
        print(
            f"\nCPU per delivered event by stream count ({args.mode}; per-stream rates kept: "
            f"{updates / base * 1000:g} updates/s and {viewing / base * 1000:g} viewing "
            f"changes/s per 1,000 streams, refresh every {refresh:g} s)"
        )
        print(HEADER)
        for line in rows:
            print(line)
    except KeyboardInterrupt:
        print("interrupted; cleaned up", flush=True)


if __name__ == "__main__":
    main()
