"""`make bench` cannot rot: its harness runs a tiny configuration end to end.

Nothing here is a timing assert: the figures of a tiny run mean nothing. What is checked is that
every scenario ran through the real programs against a real `twsapp sim` process and that the
results file has the keys the README and the issue name.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
KEYS = {
    "round_trip": ["ratio_bare", "median_ms_bare", "median_ms_twsapp", "p99_ms_twsapp"],
    "ingest": [
        "ratio_bare",
        "msgs_per_s_bare",
        "msgs_per_s_twsapp",
        "median_us_per_msg_twsapp",
        "p99_us_per_msg_twsapp",
    ],
    "burst": ["seconds", "ratio_theoretical", "median_submitted_seconds", "p99_submitted_seconds"],
    "startup": ["ratio_bare", "seconds_bare", "seconds_twsapp", "p99_seconds_twsapp"],
    "memory": [
        "ratio_bare_placed",
        "ratio_bare_received",
        "gc_pause_ms_twsapp",
        "gc_pause_median_ms_twsapp",
        "gc_pause_p99_ms_twsapp",
    ],
    "simulator": [
        "msgs_per_s",
        "place_ms_empty",
        "place_ms_held",
        "ratio_held_empty",
        "place_p99_ms_empty",
        "place_p99_ms_held",
    ],
}


@pytest.mark.slow
def test_the_bench_runs_a_tiny_configuration_end_to_end(tmp_path):
    png = importlib.util.find_spec("matplotlib") is not None
    args = ["--tiny", "--no-ib-async", "--out", str(tmp_path)] + ([] if png else ["--no-png"])
    proc = subprocess.run(
        [sys.executable, "-m", "bench", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads((tmp_path / "latest.json").read_text())
    for scenario, keys in KEYS.items():
        for key in keys:
            value = results[scenario][key]
            assert isinstance(value, float) and value > 0, f"{scenario}.{key} = {value!r}"
    assert results["programs"] == ["bare", "twsapp"]
    assert results["ingest"]["messages"] == 1000  # 200 orders: 4 frames each, 25 % repeats
    assert "| round trip median, ms |" in proc.stdout
    assert results["burst"]["error_100"] == 0  # the limiter at 50/s, the simulator's check on
    assert "Burst: 50 orders through twsapp's limiter at 50/s" in proc.stdout
    assert (tmp_path / "latest.png").exists() == png
