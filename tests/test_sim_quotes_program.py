"""An independent ibapi program (tests/programs/quotes_app.py) gets quotes and bars from
``twsapp sim`` run as a user runs it: two processes, a real socket, an accelerated clock.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from test_sim_cli import READY, SimProcess
from versions import FAST_VERSIONS

PROGRAM = Path(__file__).parent / "programs" / "quotes_app.py"
WATCHDOG = 30.0


@pytest.mark.parametrize("version", FAST_VERSIONS, ids=lambda v: f"v{v}")
def test_a_plain_ibapi_program_streams_quotes_and_real_time_bars(version):
    sim = SimProcess("--port", "0", "--server-version", str(version), "--speed", "50")
    try:
        match = READY.fullmatch(sim.ready_line())
        assert match, "twsapp sim prints where it listens"
        program = subprocess.run(
            [sys.executable, str(PROGRAM), "127.0.0.1", match[1]],
            capture_output=True,
            text=True,
            timeout=WATCHDOG,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    finally:
        sim.proc.send_signal(signal.SIGTERM)
        code, err = sim.finish()
    assert program.returncode == 0, program.stderr
    assert code == 0, err
    lines = [line.split() for line in program.stdout.splitlines()]
    assert not [
        line for line in lines if line[0] == "error" and line[2] not in ("2104", "2106", "2158")
    ]
    assert ["marketDataType", "1", "1"] in lines
    bids = [float(line[3]) for line in lines if line[:3] == ["tickPrice", "1", "BID"]]
    asks = [float(line[3]) for line in lines if line[:3] == ["tickPrice", "1", "ASK"]]
    sizes = {line[2] for line in lines if line[:2] == ["tickSize", "1"]}
    assert bids and asks and min(asks) > 0 and {"BID_SIZE", "ASK_SIZE", "VOLUME"} <= sizes
    bars = [line for line in lines if line[0] == "realtimeBar"]
    assert len(bars) == 3
    times = [int(bar[2]) for bar in bars]
    assert times == [times[0], times[0] + 5, times[0] + 10] and times[0] % 5 == 0
    for _, _, _, open_, high, low, close, volume, _, count in bars:
        assert float(low) <= min(float(open_), float(close)) <= max(float(open_), float(close))
        assert max(float(open_), float(close)) <= float(high)
        assert float(volume) > 0 and int(count) > 0
