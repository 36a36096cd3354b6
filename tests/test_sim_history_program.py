"""An independent ibapi program (tests/programs/history_app.py) loads history with keepUpToDate
from ``twsapp sim`` run as a user runs it: two processes, a real socket, an accelerated clock."""

from __future__ import annotations

from decimal import Decimal

import pytest
from program_runner import errors, run_program
from versions import FAST_VERSIONS


@pytest.mark.parametrize("version", FAST_VERSIONS, ids=lambda v: f"v{v}")
def test_a_plain_ibapi_program_keeps_history_up_to_date(version):
    lines = run_program("history_app.py", "--server-version", str(version), "--speed", "50")
    assert not errors(lines)
    kinds = [line[0] for line in lines if line[0] != "error"]
    history = [line for line in lines if line[0] == "historicalData"]
    updates = [line for line in lines if line[0] == "historicalDataUpdate"]
    # The history, its end, then the updates: nothing after the cancel.
    assert kinds == ["historicalData"] * len(history) + ["historicalDataEnd"] + [
        "historicalDataUpdate"
    ] * len(updates)
    times = [int(line[2]) for line in history]
    assert 5 <= len(times) <= 6 and all(t % 60 == 0 for t in times)
    assert times == list(range(times[0], times[0] + 60 * len(times), 60))
    # The updates go on from the last historical bar, one minute after another.
    update_times = [int(line[2]) for line in updates]
    assert update_times == sorted(update_times) and update_times[0] == times[-1]
    assert set(update_times) == {times[-1], times[-1] + 60, times[-1] + 120}
    first = next(line for line in updates if line[2] == history[-1][2])
    assert first[3] == history[-1][3]  # the same bar, its open kept
    assert Decimal(first[7]) >= Decimal(history[-1][7])  # ... and its volume grown (or not)
    for _, _, _, open_, high, low, close, volume, count in history + updates:
        assert float(low) <= min(float(open_), float(close)) <= max(float(open_), float(close))
        assert max(float(open_), float(close)) <= float(high)
        assert Decimal(volume) > 0 and int(count) > 0
