"""A benchmark refuses a negative count at once, in argparse's words, before it starts."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.processes import PROJECT


@pytest.mark.parametrize(
    ("script", "option"), [("cold_start.py", "--repeat"), ("big.py", "--cold-repeat")]
)
def test_a_negative_count_is_refused(script, option):
    done = subprocess.run(
        [sys.executable, str(PROJECT / "bench" / script), option, "-1"],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert f"argument {option}: -1 is negative: give 0 or more" in done.stderr
