"""An independent ibapi program (tests/programs/quotes_app.py) gets quotes and bars from
``twsapp sim`` run as a user runs it: two processes, a real socket, an accelerated clock.
"""

from __future__ import annotations

import pytest
from program_runner import errors, run_program
from versions import FAST_VERSIONS


@pytest.mark.parametrize("version", FAST_VERSIONS, ids=lambda v: f"v{v}")
def test_a_plain_ibapi_program_streams_quotes_and_real_time_bars(version):
    lines = run_program("quotes_app.py", "--server-version", str(version), "--speed", "50")
    assert not errors(lines)
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
