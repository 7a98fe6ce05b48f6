"""A worker's liveness probe (`python -m shangji_kit.heartbeat check`) passes while its event loop runs and
fails when the loop stops beating."""

import os
import signal
import subprocess
import sys
import time

from shangji_kit import heartbeat
from shangji_kit.testing.processes import ServiceProcess
from shangji_kit.testing.wait import eventually


def probe(env: dict) -> subprocess.CompletedProcess:
    """The command the chart's and the base's livenessProbe run."""
    return subprocess.run([sys.executable, "-m", "shangji_kit.heartbeat", "check"], env=env, capture_output=True,
                          text=True, timeout=60)


def test_the_probe_follows_a_real_workers_event_loop(shangji_env, tmp_path):
    beat_file = tmp_path / "notify.heartbeat"
    env = {**os.environ, "SHANGJI_HEARTBEAT_FILE": str(beat_file)}
    assert probe(env).returncode == 1, "no worker yet: no heartbeat"
    worker = ServiceProcess("notify", "worker", env, tmp_path).start()
    try:
        worker.wait_started(timeout=60)
        eventually(lambda: probe(env).returncode == 0, timeout=30)
        # The loop stops (SIGSTOP stands for a hub stuck in a blocking call), and a minute passes.
        worker.proc.send_signal(signal.SIGSTOP)
        old = time.time() - 2 * heartbeat.DEFAULT_MAX_AGE_SECONDS
        os.utime(beat_file, (old, old))
        failed = probe(env)
        assert failed.returncode == 1 and "stuck" in failed.stderr
        worker.proc.send_signal(signal.SIGCONT)
        eventually(lambda: probe(env).returncode == 0, timeout=30)
    finally:
        worker.proc.send_signal(signal.SIGCONT)
        worker.terminate()
