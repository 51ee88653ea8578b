"""Reconnect storm: every stream of a server reconnects at once after a restart, writes go on.

Usage: .venv/bin/python bench/reconnect_storm.py [--streams 10000] [--workspaces 1000]
           [--rate 50] [--mode embedded|scaled] [--before 10] [--after 10] [--procs N]

`--streams` streams over `--workspaces` workspaces (each stream a distinct user, JWTs signed
with the bench secret) and `--rate` workspace updates/s over random workspaces, from
`--procs` generator processes (bench/load_gen.py; default one per 5,000 streams). After
`--before` s of that, the server gets SIGTERM; as soon as it has exited the same command
starts it again (`serve --no-migrate`, same database and port). Streams reconnect as
EventSource does: after the `retry:` hint the server sent them (spread +-50% by the server)
plus up to 1 s of random jitter, again after every refused connect, with `Last-Event-ID`.
The writes go on at the same schedule throughout (a write while nothing listens is refused
at once and counted, not retried). The run ends `--after` s after the last stream resumed.
Small example: `--streams 500 --workspaces 50`.

`--mode embedded` (default): one `mechamental serve` on SQLite in a temp dir. `scaled`:
`serve --workers 2` on a PostgreSQL database of its own (dropped after) and Redis (a prefix
of its own, keys deleted after). Everything is removed at exit, Ctrl-C included.

Reported:
- the restart: SIGTERM -> exit, start -> ready (ready = the new server answers /healthz);
- time from ready to 50 %, 99 % and 100 % of streams resumed (a stream has resumed when its
  new connection delivered `sync.connected`; each one must resume where it was: the
  connected frame's id is its Last-Event-ID, else it is counted as a bad resume);
- events lost or doubled (target 0): per stream, every event of its workspace in seq order
  exactly once, and at the end every stream at its workspace's head (read from the
  database); resets (`sync.reset`);
- 5xx (target 0) on stream opens and writes, other non-2xx, refused connects (a stream that
  got a non-200 reconnects like the others here; a real EventSource would stop on it);
- writes acknowledged per second before the restart, while down (SIGTERM -> ready), during
  the storm (ready -> all resumed) and after, with their latencies, and a per-second line;
- peak RSS of the old server, and of the new one during the storm; its CPU during the storm;
- each generator process's CPU (above ~70 % of a core it is the limit: add --procs);
- the kernel's ListenOverflows/ListenDrops counters over the storm (whole host): a
  connection the full accept queue dropped is retried by TCP after 1, 2, 4, ... s, which
  shows as a long tail of resume times (and of writes whose connections were new);
- scaled: CPU of the PostgreSQL backends of our database and of the Redis server (shared).

`--profile DIR` runs py-spy (`.venv/bin/pip install py-spy`) on each process of the new
server from its start for `--profile-seconds` and prints its heaviest frames;
`--server-env NAME=VALUE` passes a setting (e.g. `MECHAMENTAL_RETRY_MS=6000`); `--logs DIR`
keeps the server logs. The machine is shared: print `uptime` with the figures.
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
    Profiler,
    Server,
    calls_of,
    create_workspaces,
    listen_drops,
    ms_stats,
    on_signals,
    percentile,
    print_gaps,
    raise_nofile,
    split,
    summed,
)


def run(args: argparse.Namespace) -> dict[str, Any]:
    """One storm; the raw figures."""
    backend = Backend(args.mode, "storm")
    server: Server | None = None
    gens: Generators | None = None
    t: dict[str, float] = {}
    profiler: Profiler | None = None
    peak = {"old": 0, "new": 0}
    try:
        backend.env.update(kv.split("=", 1) for kv in args.server_env)
        backend.setup()
        server = Server(backend, workers=2 if args.mode == "scaled" else 1)
        server.start()
        server.wait_ready()
        time.sleep(3.0 if args.mode == "scaled" else 0.5)  # every worker up
        ids = uvloop.run(create_workspaces(server.port, args.workspaces))
        viewers = max(1, args.streams // args.workspaces)
        procs = args.procs or max(1, math.ceil(args.streams / 5000))
        configs = []
        for i, part in enumerate(split(ids, procs)):
            configs.append(
                {
                    "index": i,
                    "seed": 2000 + i,
                    "port": server.port,
                    "workspaces": part,
                    "viewers": viewers,
                    "join": args.join,
                    "seconds": 0,
                    "refresh": 0,
                    "update_rate": args.rate * len(part) / len(ids),
                    "viewing_rate": 0,
                    "heads": backend.heads_source(),
                    "pool": args.pool,
                    "settle_seconds": 120,
                }
            )
        gens = Generators(configs, backend.data)
        gens.wait_all("ready", 900)
        which = ["old"]

        def sample() -> None:
            if server is not None:
                peak[which[0]] = max(peak[which[0]], server.rss_kb())

        gens.send("go")
        t["go"] = time.time()
        while time.time() < t["go"] + args.before:
            sample()
            time.sleep(0.2)
        drops0 = listen_drops()
        t["mark"] = time.time()
        gens.send(f"mark {t['mark']}")
        t["term"] = time.time()
        server.terminate()
        t["exit"] = server.wait_exit(60)
        which[0] = "new"
        server.start()
        t["start"] = time.time()
        if args.profile:
            profiler = Profiler(server, Path(args.profile), args.profile_seconds)
        t["ready"] = server.wait_ready()
        cpu0, stores0 = server.cpu(), backend.store_cpu()
        t["resumed"] = gens.wait_all("resumed", 400, tick=sample)  # each says it by 300 s
        storm_cpu = server.cpu() - cpu0
        drops = {k: v - drops0[k] for k, v in listen_drops().items()}
        stores = {k: v - stores0.get(k, 0.0) for k, v in backend.store_cpu().items()}
        while time.time() < t["resumed"] + args.after:
            sample()
            time.sleep(0.2)
        gens.send("stop")
        t["stop"] = gens.wait_all("stopped", 120)
        rss_end = server.rss_kb()
        gens.send("settle")
        gens.wait_all("done", 300)
        results = gens.results()
    finally:
        if gens is not None:
            gens.stop()
        if server is not None:
            server.stop()
        backend.teardown(args.logs)
        if profiler is not None and sys.exc_info()[0] is not None:
            profiler.stop()
    return {
        "t": t,
        "peak": peak,
        "rss_end": rss_end,
        "storm_cpu": storm_cpu,
        "stores": stores,
        "listen_drops": drops,
        "results": results,
        "viewers": viewers,
        "profiler": profiler,
    }


def report(args: argparse.Namespace, run_: dict[str, Any]) -> None:
    """Print the figures."""
    t, results = run_["t"], run_["results"]
    streams = summed(results, "streams")
    print(
        f"\nreconnect storm, {args.mode}: {streams} streams over {args.workspaces} workspaces "
        f"({run_['viewers']} each), {args.rate:g} updates/s"
    )
    print(
        f"  SIGTERM -> exited {t['exit'] - t['term']:.2f} s; started -> ready (/healthz) "
        f"{t['ready'] - t['start']:.2f} s; SIGTERM -> ready {t['ready'] - t['term']:.2f} s"
    )
    back = []
    for r in results:
        back += [x for x in r["reconnected_at"] if x]
    back.sort()
    missing = streams - len(back)
    if back:
        rel = [x - t["ready"] for x in back]
        p100 = f"{rel[-1]:.2f} s" if not missing else f"never ({missing} not resumed)"
        print(
            f"  resumed after ready: 50 % {percentile(rel, 50):.2f} s, 99 % "
            f"{percentile(rel, 99):.2f} s, 100 % {p100}; first {rel[0]:+.2f} s"
        )
    print(
        f"  lost {summed(results, 'lost')} (gaps {summed(results, 'gaps')}, streams short of "
        f"head {summed(results, 'behind_streams')}), doubled {summed(results, 'doubled')}, "
        f"bad resumes {summed(results, 'bad_resumes')}, resets {summed(results, 'resets')}; "
        f"{summed(results, 'resumes')} resumes, {summed(results, 'refused')} refused "
        f"connects"
    )
    print_gaps(results, t["ready"])
    opens: dict[str, int] = {}
    for r in results:
        for k, v in r["stream_statuses"].items():
            opens[k] = opens.get(k, 0) + v
    puts = calls_of(results, "put")
    put_5xx = sum(1 for *_x, s in puts if s >= 500)
    open_5xx = sum(v for k, v in opens.items() if int(k) >= 500)
    other = dict(sorted(opens.items()))
    print(
        f"  5xx: {open_5xx} stream opens, {put_5xx} writes; stream answers not 200 by status: "
        f"{other or 'none'}"
    )
    phases = [
        ("before", t["go"], t["term"]),
        ("down", t["term"], t["ready"]),
        ("storm", t["ready"], t["resumed"]),
        ("after", t["resumed"], t["stop"]),
    ]
    print("  writes acknowledged (200) per second, and their latency from send:")
    for name, a, b in phases:
        acked = [(sent, done) for _due, sent, done, s in puts if s == 200 and a <= done < b]
        tried = sum(1 for due, *_x in puts if a <= due < b)
        errors: dict[str, int] = {}
        for due, _sent, _done, s in puts:
            if a <= due < b and s != 200:
                key = {-1.0: "refused", -2.0: "reset", -3.0: "error"}.get(s, str(int(s)))
                errors[key] = errors.get(key, 0) + 1
        span = max(b - a, 1e-9)
        lat = ms_stats([done - sent for sent, done in acked])
        print(
            f"    {name:6} {span:6.1f} s: {len(acked) / span:6.1f}/s acked of {tried / span:6.1f}"
            f"/s sent; failed {errors or 'none'}; {lat}"
        )
    start, end = int(t["term"]) - 2, min(int(t["resumed"]) + 3, int(t["stop"]) - 1)
    per_second = [0] * (end - start + 1)
    for _due, _sent, done, s in puts:
        if s == 200 and start <= done < end + 1:
            per_second[int(done) - start] += 1
    print(f"    acked each second from SIGTERM - 2 s: {' '.join(map(str, per_second))}")
    peak = run_["peak"]
    print(
        f"  server RSS: old peak {peak['old'] / 1024:.0f} MB; new peak during the storm "
        f"{peak['new'] / 1024:.0f} MB, at the end {run_['rss_end'] / 1024:.0f} MB; new server "
        f"CPU ready -> all resumed {run_['storm_cpu']:.1f} s over "
        f"{t['resumed'] - t['ready']:.1f} s"
    )
    drops = run_["listen_drops"]
    print(
        f"  accept queue full, SIGTERM -> all resumed (kernel counters, whole host): "
        f"ListenOverflows {drops['ListenOverflows']}, ListenDrops {drops['ListenDrops']}"
    )
    if run_["stores"]:
        st = run_["stores"]
        print(
            f"  ready -> all resumed: PostgreSQL backends of our database {st['postgres']:.1f} s "
            f"CPU, Redis server {st['redis']:.1f} s (shared)"
        )
    gen = ", ".join(f"{100 * r['generator_cpu'] / max(r['wall'], 1e-9):.0f} %" for r in results)
    burst = ", ".join(f"{100 * r['storm_cpu'] / max(r['storm_wall'], 1e-9):.0f} %" for r in results)
    print(
        f"  generator CPU ({len(results)} processes): go -> stop {gen}; SIGTERM -> all resumed "
        f"{burst} (of a core each)",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--streams", type=int, default=10000)
    parser.add_argument("--workspaces", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=50.0, help="workspace updates/s")
    parser.add_argument("--mode", choices=["embedded", "scaled"], default="embedded")
    parser.add_argument("--before", type=float, default=10.0, help="seconds of load before")
    parser.add_argument("--after", type=float, default=10.0, help="seconds after all resumed")
    parser.add_argument("--procs", type=int, default=0, help="generator processes (0: auto)")
    parser.add_argument("--pool", type=int, default=64, help="connections per generator")
    parser.add_argument(
        "--join",
        action="store_true",
        help="each stream's user also joins presence once (not by default)",
    )
    parser.add_argument(
        "--profile",
        default="",
        help="py-spy the new server's processes from their start into this dir",
    )
    parser.add_argument("--profile-seconds", type=float, default=15.0)
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
    try:
        figures = run(args)
        report(args, figures)
        if figures["profiler"] is not None:
            figures["profiler"].report()
    except KeyboardInterrupt:
        print("interrupted; cleaned up", flush=True)


if __name__ == "__main__":
    main()
