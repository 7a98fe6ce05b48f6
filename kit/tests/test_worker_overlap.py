"""Worker database calls overlap under eventlet (ARCHITECTURE.md section 2)."""

import os
import subprocess
import sys
from pathlib import Path

from shangji_kit.settings import database_url

PROBE = Path(__file__).with_name("overlap_probe.py")


def wall_time(mode: str) -> float:
    # Ten connections, whatever the suite's connection budget gives a process: this measures whether
    # queries overlap under eventlet, not how many connections a worker may hold.
    env = dict(os.environ, SHANGJI_DB_POOL_MAX="10")
    out = subprocess.run([sys.executable, str(PROBE), database_url("teams"), mode], capture_output=True, text=True,
                         timeout=60, check=True, env=env)
    return float(out.stdout.strip().splitlines()[-1])


def test_ten_half_second_queries_overlap_with_the_wait_fix(shangji_env):
    fixed = wall_time("fixed")
    assert fixed < 1.5, f"10 x pg_sleep(0.5) took {fixed:.2f}s: queries did not overlap"


def test_without_the_fix_they_serialise(shangji_env):
    # The control: proves the probe can tell the difference, so the test above can fail.
    assert wall_time("unfixed") > 4.0
