"""An independent ibapi program (tests/programs/trailing_stop_app.py) places a trailing stop on
``twsapp sim`` run as a user runs it: two processes, a real socket, an accelerated clock, and
AAPL replaying a saw-tooth of bars (100 up to 104 and back, every minute), so wherever in the
cycle the order arrives its stop rises with the market and is then hit on the way down.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from program_runner import errors, run_program
from versions import FAST_VERSIONS


def saw_tooth(path: Path, cycles: int = 200) -> None:
    rows = ["time,open,high,low,close"]
    for cycle in range(cycles):
        start = 60 * cycle
        rows.append(f"{start},100,104,100,104")
        rows.append(f"{start + 30},104,104,100,100")
    path.write_text("\n".join(rows) + "\n")


@pytest.mark.parametrize("version", FAST_VERSIONS, ids=lambda v: f"v{v}")
def test_a_plain_ibapi_program_sees_its_trailing_stop_rise_and_fill(version, tmp_path):
    bars = tmp_path / "aapl.csv"
    saw_tooth(bars)
    lines = run_program(
        "trailing_stop_app.py",
        "--server-version",
        str(version),
        "--speed",
        "100",
        "--bars",
        f"AAPL={bars}",
    )
    assert not errors(lines)
    echoes = [line for line in lines if line[0] == "openOrder"]
    assert {line[2] for line in echoes} == {"TRAIL"} and {line[3] for line in echoes} == {"2.0"}
    stops = [float(line[4]) for line in echoes if line[5] == "PreSubmitted"]
    assert stops[0] == 90.0, "TWS echoes the initial stop"
    assert stops == sorted(stops) and stops[-1] > 90.0, "a sell's stop only rises"
    assert 98.0 <= stops[-1] <= 102.0  # 2.00 under a price between 100 and 104
    statuses = [line[2] for line in lines if line[0] == "orderStatus"]
    assert statuses[0] == "PreSubmitted" and statuses[-1] == "Filled"
    assert "Submitted" in statuses and statuses.index("Submitted") > 0
    [fill] = [line for line in lines if line[0] == "execDetails"]
    assert fill[2:4] == ["SLD", "10"] and float(fill[4]) <= stops[-1]
    assert [line[0] for line in lines][-1] == "commission"
