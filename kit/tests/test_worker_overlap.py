"""Worker database calls overlap under eventlet (ARCHITECTURE.md section 2)."""

import subprocess
import sys
from pathlib import Path

from shangji_kit.settings import database_url

PROBE = Path(__file__).with_name("overlap_probe.py")


def wall_time(mode: str) -> float:
    out = subprocess.run([sys.executable, str(PROBE), database_url("teams"), mode], capture_output=True, text=True,
                         timeout=60, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def test_ten_half_second_queries_overlap_with_the_wait_fix(shangji_env):
    fixed = wall_time("fixed")
    assert fixed < 1.5, f"10 x pg_sleep(0.5) took {fixed:.2f}s: queries did not overlap"


def test_without_the_fix_they_serialise(shangji_env):
    # The control: proves the probe can tell the difference, so the test above can fail.
    assert wall_time("unfixed") > 4.0
