"""CPU per call per process, from /proc: every benchmark prints it beside throughput and latency.

Throughput on this machine swings with whatever else runs on it (seven engineers' tests today), but the
CPU a call costs in each process barely does, so it is the figure progress is judged by.

A meter is a set of named groups, each a function returning the pids that belong to it *now*
(a front and its child processes, the PostgreSQL backends of the benchmark's databases, the broker,
this client process). ``start()`` and ``stop()`` read utime + stime of every pid of every group; a pid
first seen at ``stop()`` counts whole (it was born inside the window), a pid gone by ``stop()`` is lost
(the groups here are long-lived: pools, workers, fronts).

RabbitMQ is one Erlang VM for every vhost on the machine, so its figure includes other users' traffic
during the window: it is printed, marked shared, and subtracted by nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

_TICK = os.sysconf("SC_CLK_TCK")

PidSource = Callable[[], Iterable[int]]


def process_seconds(pid: int) -> float | None:
    """utime + stime of ``pid`` in seconds; None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # the command name is in parentheses and may hold spaces: fields start after the last ')'
    fields = stat[stat.rindex(b")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def _parents() -> dict[int, int]:
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        out[int(entry)] = int(stat[stat.rindex(b")") + 2:].split()[1])
    return out


def with_descendants(*roots: int) -> set[int]:
    """``roots`` and every process below them (a front's supervisor and its copies)."""
    parents = _parents()
    found = {r for r in roots if r in parents}
    grew = True
    while grew:
        grew = False
        for pid, ppid in parents.items():
            if ppid in found and pid not in found:
                found.add(pid)
                grew = True
    return found


def named(comm: str) -> set[int]:
    """Processes whose command name is ``comm`` (e.g. ``beam.smp``, the RabbitMQ VM)."""
    out = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as f:
                    if f.read().strip() == comm:
                        out.add(int(entry))
            except OSError:
                continue
    return out


def postgres_backends(dsn: str, databases: Iterable[str]) -> PidSource:
    """A pid source: the backends currently connected to ``databases`` (not the one asking)."""
    import psycopg

    names = list(databases)

    def pids() -> set[int]:
        with psycopg.connect(dsn, autocommit=True) as conn:
            rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = ANY(%s) "
                                "AND pid <> pg_backend_pid()", (names,)).fetchall()
        return {r[0] for r in rows}

    return pids


def this_process() -> set[int]:
    return {os.getpid()}


@dataclass
class Usage:
    """CPU seconds per group over one window."""

    seconds: dict[str, float]
    shared: frozenset[str] = frozenset()

    @property
    def total(self) -> float:
        return sum(self.seconds.values())

    def per_call_ms(self, calls: int) -> dict[str, float]:
        calls = max(calls, 1)
        return {name: s * 1000 / calls for name, s in self.seconds.items()}


@dataclass
class CpuMeter:
    groups: dict[str, PidSource]
    shared: frozenset[str] = frozenset({"rabbitmq"})
    _start: dict[str, dict[int, float]] = field(default_factory=dict)

    def _read(self) -> dict[str, dict[int, float]]:
        out: dict[str, dict[int, float]] = {}
        for name, source in self.groups.items():
            times = {}
            for pid in set(source()):
                t = process_seconds(pid)
                if t is not None:
                    times[pid] = t
            out[name] = times
        return out

    def start(self) -> None:
        self._start = self._read()

    def stop(self) -> Usage:
        end = self._read()
        seconds = {}
        for name, times in end.items():
            before = self._start.get(name, {})
            seconds[name] = sum(t - before.get(pid, 0.0) for pid, t in times.items())
        return Usage(seconds, self.shared & set(seconds))


def cpu_header(groups: Iterable[str]) -> str:
    return "".join(f"{g[:9]:>10}" for g in groups) + f"{'total':>10}"


def cpu_cells(usage: Usage | None, calls: int, groups: Iterable[str]) -> str:
    if usage is None:
        return ""
    per = usage.per_call_ms(calls)
    return "".join(f"{per.get(g, 0.0):>10.2f}" for g in groups) + f"{usage.total * 1000 / max(calls, 1):>10.2f}"


def explain(groups: Iterable[str]) -> str:
    return ("CPU columns: ms of CPU per call in each group of processes (utime+stime from /proc over the measured "
            f"window); groups: {', '.join(groups)}; rabbitmq is the machine's one broker VM, shared with "
            "everything else running on it")


GROUPS = ["front", "workers", "fronts2", "postgres", "rabbitmq", "client"]


def for_suite(suite, service: str, databases: Iterable[str]) -> CpuMeter:
    """Groups for a benchmark of ``service`` running in a ``shangji_kit.testing.processes.Suite``.

    front: the service's front (every copy); workers: every worker of the suite (relays, handlers);
    fronts2: the other services' fronts; postgres: backends on the suite's databases; rabbitmq; client.
    """
    from shangji_kit import settings
    from shangji_kit.db import libpq_dsn

    def pids(predicate) -> PidSource:
        return lambda: with_descendants(*(p.proc.pid for (s, r), p in suite.processes.items()
                                          if p.proc is not None and predicate(s, r)))

    return CpuMeter({
        "front": pids(lambda s, r: s == service and r == "front"),
        "workers": pids(lambda s, r: r == "worker"),
        "fronts2": pids(lambda s, r: s != service and r == "front"),
        "postgres": postgres_backends(libpq_dsn(settings.database_url("teams")), databases),
        "rabbitmq": lambda: named("beam.smp"),
        "client": this_process,
    })
