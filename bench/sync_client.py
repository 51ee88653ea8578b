"""Load-generator parts of the sync benchmark: raw asyncio stream readers, a tiny client, report.

Stream readers only look for `id: <seq>` at frame starts and stamp the arrival time of
each new id, so the generator stays cheap per received chunk; one reader may parse the
events fully (to learn which presence call caused which event).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from typing import Any


class Arrivals:
    """Arrival times of each event at each stream."""

    def __init__(self) -> None:
        self.times: dict[int, list[float]] = {}
        self.connected = 0

    def expect(self, seq: int) -> list[float]:
        """Start recording arrivals of `seq`."""
        return self.times.setdefault(seq, [])


class StreamReader(asyncio.Protocol):
    """One SSE stream: records when each event id first arrives."""

    __slots__ = ("arrivals", "closed", "last", "on_event", "request", "text", "transport")

    def __init__(
        self,
        request: bytes,
        arrivals: Arrivals,
        on_event: Callable[[str, dict[str, Any]], None] | None = None,
    ) -> None:
        self.request = request
        self.arrivals = arrivals
        self.on_event = on_event
        self.last = -1
        self.text = ""
        self.closed = False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  (uvloop's is no subclass)
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        start = data.find(b"\nid: ")  # frames follow a chunk-size line
        while start >= 0:  # usually one frame per chunk: a find and an int()
            end = data.find(b"-", start)
            if end < 0:
                break
            seq = int(data[start + 5 : end])
            if seq > self.last:
                if self.last < 0:
                    self.arrivals.connected += 1
                self.last = seq
                slot = self.arrivals.times.get(seq)
                if slot is not None:
                    slot.append(now)
            start = data.find(b"\nid: ", end)
        if self.on_event is not None:
            self._parse(data)

    def _parse(self, data: bytes) -> None:
        # Chunk framing lines are dropped; a full parser is only used on one stream.
        self.text += data.decode(errors="replace")
        while "\n\n" in self.text:
            block, self.text = self.text.split("\n\n", 1)
            fields = {}
            for line in block.split("\n"):
                name, _, value = line.partition(": ")
                if name in ("event", "data"):
                    fields[name] = value.split("\r\n")[0]
            if "event" in fields and "data" in fields and self.on_event is not None:
                with contextlib.suppress(json.JSONDecodeError):
                    self.on_event(fields["event"], json.loads(fields["data"]))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True


async def open_streams(
    host: str,
    port: int,
    request: bytes,
    count: int,
    arrivals: Arrivals,
    *,
    parallel: int = 200,
) -> list[StreamReader]:
    """Open `count` streams, `parallel` connects at a time; wait until all are connected."""
    loop = asyncio.get_running_loop()
    readers: list[StreamReader] = []
    gate = asyncio.Semaphore(parallel)
    start_connected = arrivals.connected

    async def one() -> None:
        async with gate:
            reader = StreamReader(request, arrivals)
            await loop.create_connection(lambda: reader, host, port)
            readers.append(reader)

    await asyncio.gather(*(one() for _ in range(count)))
    deadline = time.monotonic() + 120
    while arrivals.connected - start_connected < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {arrivals.connected - start_connected}/{count} connected")
        await asyncio.sleep(0.05)
    return readers


class HttpClient:
    """A keep-alive HTTP/1.1 client on raw asyncio streams (one request at a time)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: bytes = b""
    ) -> tuple[int, bytes]:
        """Send one request; (status, body). Reconnects once if the server closed an idle one."""
        try:
            return await self._request(method, path, headers, body)
        except (asyncio.IncompleteReadError, ConnectionError):
            self.close()
            self.writer = None
            return await self._request(method, path, headers, body)

    async def _request(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        lines = [f"{method} {path} HTTP/1.1", f"host: {self.host}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        lines.append(f"content-length: {len(body)}")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        return status, await self.reader.readexactly(length) if length else b""

    def close(self) -> None:
        """Close the connection."""
        if self.writer is not None:
            self.writer.close()


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) of `values`."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def rss_kb(pid: int) -> int:
    """Resident memory of a process, in KiB."""
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    import os

    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stats(values: list[float]) -> dict[str, float]:
    """p50 / p99 / max in milliseconds."""
    return {
        "p50": percentile(values, 50) * 1000,
        "p99": percentile(values, 99) * 1000,
        "max": max(values) * 1000 if values else float("nan"),
    }


def report(rows: list[tuple[dict[str, Any], dict[str, Any]]], pres: dict[str, Any] | None) -> None:
    """Print the figures."""
    print("\nFan-out: per-(event, stream) delivery latency, ms; ratio = ours / floor")
    print(f"{'streams':>8} {'':6} {'p50':>8} {'p99':>8} {'max':>8} {'all p99':>8} "
          f"{'KB/str':>7} {'srv cpu':>7} {'gen cpu':>7} {'deliv':>6}")  # fmt: skip
    for ours, floor in rows:
        for name, r in (("ours", ours), ("floor", floor)):
            lat, all_ = r["latency"], r["all_streams"]
            print(f"{r['n']:>8} {name:6} {lat['p50']:8.1f} {lat['p99']:8.1f} {lat['max']:8.1f} "
                  f"{all_['p99']:8.1f} {r['kb_per_stream']:7.2f} {r['server_cpu']:7.2f} "
                  f"{r['generator_cpu']:7.2f} {r['delivered']:6.3f}")  # fmt: skip
        ratio = ours["latency"]["p99"] / floor["latency"]["p99"]
        print(f"{ours['n']:>8} ratio  p99 {ratio:.2f}x  (target <= 2x; memory "
              f"{ours['kb_per_stream']:.2f} KB/stream, target <= 10)")  # fmt: skip
    if pres:
        d, c = pres["delivery"], pres["call"]
        print("\nPresence: 500 users, 1,000 streams")
        print(
            f"  calls/s {pres['calls_per_s']:.0f}; call p50 {c['p50']:.1f} ms p99 {c['p99']:.1f} ms"
        )
        print(f"  {pres['changes']} viewing changes; delivery p50 {d['p50']:.1f} ms "
              f"p99 {d['p99']:.1f} ms max {d['max']:.1f} ms (target p99 <= 100); "
              f"missing {pres['missing_deliveries']}")  # fmt: skip
        print(f"  server cpu {pres['server_cpu']:.2f}, generator cpu {pres['generator_cpu']:.2f}")
