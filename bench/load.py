"""Closed-loop load: N client threads call as fast as they can for a fixed time."""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import grpc

from bench.cpu import CpuMeter, Usage, cpu_cells, cpu_header


def channel(target: str) -> grpc.Channel:
    """A channel with a TCP connection of its own: each client thread is a separate client.

    grpc shares one connection among channels with the same target and options by default, which
    would put every client thread on one connection, and so on one process of a multi-process front.
    """
    return grpc.insecure_channel(target, options=[("grpc.use_local_subchannel_pool", 1)])


@dataclass
class Result:
    label: str
    clients: int
    calls: int
    errors: int
    seconds: float
    latencies_ms: list[float]
    cpu: Usage | None = field(default=None)

    @property
    def rate(self) -> float:
        return self.calls / self.seconds

    def pct(self, p: float) -> float:
        data = sorted(self.latencies_ms)
        return data[min(len(data) - 1, int(p / 100 * len(data)))] if data else float("nan")

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies_ms) if self.latencies_ms else float("nan")

    @property
    def p99(self) -> float:
        return self.pct(99)


def run(label: str, clients: int, seconds: float, make_call: Callable[[int], Callable[[], None]],
        warmup: float = 1.0, meter: CpuMeter | None = None) -> Result:
    """``make_call(thread_index)`` returns the function one thread calls in a loop.

    With a ``meter``, the CPU of its groups is read over exactly the measured window."""
    stop = threading.Event()
    measuring = threading.Event()
    lock = threading.Lock()
    latencies: list[float] = []
    errors = [0]

    def worker(i: int) -> None:
        call = make_call(i)
        mine: list[float] = []
        while not stop.is_set():
            t0 = time.perf_counter()
            try:
                call()
            except Exception:  # counted, not fatal: the figure says how many failed
                if measuring.is_set():
                    errors[0] += 1
                continue
            if measuring.is_set():
                mine.append((time.perf_counter() - t0) * 1000)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    time.sleep(warmup)
    if meter is not None:
        meter.start()
    measuring.set()
    started = time.perf_counter()
    time.sleep(seconds)
    measuring.clear()
    elapsed = time.perf_counter() - started
    usage = meter.stop() if meter is not None else None
    stop.set()
    for t in threads:
        t.join(30)
    return Result(label, clients, len(latencies), errors[0], elapsed, latencies, usage)


def print_table(results: list[Result], groups: list[str], ceiling: Result | None = None) -> None:
    """One line per result: calls/s, latency, share of the ceiling, CPU ms per call per group."""
    print(f"{'what':<18}{'clients':>8}{'calls/s':>9}{'p50':>8}{'p99':>8}{'errors':>7}{'/ceil':>7}"
          + cpu_header(groups))
    for r in results:
        share = f"{r.rate / ceiling.rate:>7.0%}" if ceiling is not None and ceiling.rate else f"{'':>7}"
        print(f"{r.label:<18}{r.clients:>8}{r.rate:>9.0f}{r.p50:>8.2f}{r.p99:>8.2f}{r.errors:>7}{share}"
              + cpu_cells(r.cpu, r.calls, groups))
