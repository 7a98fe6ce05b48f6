"""Closed-loop load: N client threads call as fast as they can for a fixed time."""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Result:
    label: str
    clients: int
    calls: int
    errors: int
    seconds: float
    latencies_ms: list[float]

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
        warmup: float = 1.0) -> Result:
    """``make_call(thread_index)`` returns the function one thread calls in a loop."""
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
    measuring.set()
    started = time.perf_counter()
    time.sleep(seconds)
    measuring.clear()
    elapsed = time.perf_counter() - started
    stop.set()
    for t in threads:
        t.join(30)
    return Result(label, clients, len(latencies), errors[0], elapsed, latencies)
