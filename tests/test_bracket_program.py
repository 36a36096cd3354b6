"""An independent ibapi program (tests/programs/bracket_app.py) places a bracket on ``twsapp sim``
run as a user runs it, AAPL replaying a saw-tooth of bars (100 up to 104.50 and back, every
minute): the entry at 103 fills, then the take-profit at 104, and TWS cancels the stop."""

from __future__ import annotations

from pathlib import Path

import pytest
from program_runner import errors, run_program
from versions import FAST_VERSIONS


def saw_tooth(path: Path, cycles: int = 200) -> None:
    rows = ["time,open,high,low,close"]
    for cycle in range(cycles):
        start = 60 * cycle
        rows.append(f"{start},100,104.5,100,104.5")
        rows.append(f"{start + 30},104.5,104.5,100,100")
    path.write_text("\n".join(rows) + "\n")


@pytest.mark.parametrize("version", FAST_VERSIONS, ids=lambda v: f"v{v}")
def test_a_plain_ibapi_program_sees_its_bracket_through(version, tmp_path):
    bars = tmp_path / "aapl.csv"
    saw_tooth(bars)
    lines = run_program("bracket_app.py", "--server-version", str(version), "--speed", "100",
                        "--bars", f"AAPL={bars}")  # fmt: skip
    assert not errors(lines), lines
    echoes = {int(line[1]): line for line in lines if line[0] == "openOrder"}
    parent = min(echoes)
    assert [echoes[i][2:5] for i in (parent, parent + 1, parent + 2)] == [
        ["BUY", "LMT", "0"], ["SELL", "LMT", str(parent)], ["SELL", "STP", str(parent)]
    ]  # fmt: skip
    final = {int(line[1]): line[2] for line in lines if line[0] == "orderStatus"}
    assert final == {parent: "Filled", parent + 1: "Filled", parent + 2: "Cancelled"}
    fills = [line for line in lines if line[0] == "execDetails"]
    assert [(int(f[1]), f[2], f[3]) for f in fills] == [
        (parent, "BOT", "10"),
        (parent + 1, "SLD", "10"),
    ]
    assert float(fills[0][4]) <= 103.0 and float(fills[1][4]) >= 104.0
    held = [line for line in lines if line[0] == "orderStatus" and int(line[1]) == parent + 1]
    assert held[0][6] == "child"  # waits for its parent first
