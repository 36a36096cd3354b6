"""TWS's historical data pacing (error 162), on the simulator's clock: identical requests within
15 seconds, six for one contract, exchange and tick type within 2 seconds, more than 60 in ten
minutes; bars of 30 seconds or less only. The clock is manual: requests made without advancing
it are made at the same simulated moment, however long the machine takes."""

from __future__ import annotations

import pytest
from sim_client import SimClient, stock
from test_sim_history import START
from versions import FAST_VERSIONS

from twsapp.sim.server import SimServer

PACING = "Historical Market Data Service error message:Historical data request pacing violation"


@pytest.fixture(params=FAST_VERSIONS, ids=lambda v: f"v{v}")
def version(request) -> int:
    """A text (176) and a protobuf (newest) version."""
    return request.param


@pytest.fixture
def paced(sim_factory, version) -> SimServer:
    """No socket pacing (50 messages a second, on the wall clock) in the way of 60 requests."""
    sim = sim_factory(server_version=version, start=START, max_messages_per_second=10_000)
    sim.advance(1800)
    return sim


def ask(client: SimClient, req_id: int, symbol: str = "AAPL", duration: str = "60 S",
        size: str = "5 secs", what: str = "TRADES") -> int | None:  # fmt: skip
    """A small-bar request; None when served, else its error code."""
    since = client.mark()
    client.reqHistoricalData(req_id, stock(symbol), "", duration, size, what, 0, 1, False, [])
    event = client.until(
        lambda events: next(
            (
                e
                for e in events[since:]
                if e.name in ("historicalDataEnd", "error") and e.args.get("reqId") == req_id
            ),
            None,
        )
    )
    if event.name == "error":
        assert event.errorString == PACING
        return event.errorCode
    return None


def test_an_identical_request_within_15_seconds(paced, connect):
    client = connect(paced)
    assert ask(client, 1) is None
    paced.advance(14)
    assert ask(client, 2) == 162  # same request, other reqId: identical
    assert ask(client, 3, duration="120 S") is None  # not identical
    paced.advance(1)
    assert ask(client, 4) is None  # 15 seconds after the first


def test_six_for_one_contract_and_tick_type_within_2_seconds(paced, connect):
    client = connect(paced)
    for req_id in range(1, 6):
        assert ask(client, req_id, duration=f"{60 * req_id} S") is None
    assert ask(client, 6, duration="360 S") == 162
    assert ask(client, 7, duration="360 S", what="MIDPOINT") is None  # another tick type
    assert ask(client, 8, symbol="MSFT") is None  # another contract
    paced.advance(1)
    assert ask(client, 9, duration="420 S") == 162  # still within 2 seconds
    paced.advance(1)
    assert ask(client, 10, duration="420 S") is None


def test_more_than_60_in_ten_minutes(paced, connect):
    client = connect(paced)
    symbols = ("AAPL", "MSFT", "SPY", "TSLA")
    whats = ("TRADES", "MIDPOINT", "BID", "ASK")
    req_id = 0
    for symbol in symbols:  # 64 different requests, 4 of each kind, 2 seconds apart
        for what in whats:
            for n in range(1, 5):
                req_id += 1
                served = ask(client, req_id, symbol, f"{60 * n} S", what=what)
                assert served is None if req_id <= 60 else served == 162, req_id
            paced.advance(2)
    paced.advance(600 - 2 * 16 + 1)  # the first ones are ten minutes old
    assert ask(client, 100, "AAPL", "900 S") is None


def test_bars_over_30_seconds_are_not_paced(paced, connect):
    client = connect(paced)
    for req_id in range(1, 9):  # identical, many, within a second
        assert ask(client, req_id, duration="600 S", size="1 min") is None
    assert ask(client, 9, duration="600 S", size="30 secs") is None
    assert ask(client, 10, duration="600 S", size="30 secs") == 162
