"""[risk]: each precaution and hard limit, from the pure check, from Python and from a strategy,
over the socket against the simulator: a refused order sends nothing (the simulator's own record
of what it received), and every refusal is one WARNING line."""

from __future__ import annotations

import logging
import textwrap
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from app_helpers import WAIT, Events, barrier, placed_ids
from ibapi.contract import Contract, ContractDetails

from twsapp.config import RiskConfig
from twsapp.exceptions import OrderRefused
from twsapp.orders import limit_order, market_order, stop_order
from twsapp.pnl import LastFillPrices
from twsapp.risk import Reference, RiskGuard, RiskRefused, check, session_state
from twsapp.session import TwsApp

# --------------------------------------------------------------------------- pure checks


def _details(liquid: str = "", trading: str = "") -> ContractDetails:
    details = ContractDetails()
    details.contract = Contract()
    details.contract.symbol, details.contract.conId, details.contract.currency = "AAPL", 1, "USD"
    details.timeZoneId = "US/Eastern"
    details.liquidHours = liquid or "20250106:0930-20250106:1600;20250107:0930-20250107:1600"
    details.tradingHours = trading or "20250106:0400-20250106:2000;20250107:0400-20250107:2000"
    return details


REGULAR = datetime(2025, 1, 6, 15, 0, tzinfo=UTC)  # 10:00 New York
PRE_MARKET = datetime(2025, 1, 6, 10, 0, tzinfo=UTC)  # 05:00
NIGHT = datetime(2025, 1, 7, 3, 0, tzinfo=UTC)  # 22:00 on the 6th
REF = Reference(149.0, "the last price")


def _ids(order, limits=None, reference=REF, now=REGULAR, details=None) -> list[str]:
    found = check(order, details or _details(), limits or RiskConfig(), reference, now)
    return [p.message_id for p in found]


def test_a_plain_order_within_the_limits_trips_nothing():
    assert _ids(limit_order("BUY", 10, 149.05)) == []
    assert _ids(market_order("SELL", 10)) == []


def test_the_size_value_and_deviation_limits():
    limits = RiskConfig(max_order_value=7000, max_quantity=Decimal(50), max_price_deviation_pct=5)
    assert _ids(limit_order("BUY", 51, 149.0), limits) == ["o383", "o451"]
    assert _ids(limit_order("BUY", 40, 149.0), limits) == []
    assert _ids(market_order("BUY", 70), limits) == ["o383", "o451"]  # valued at the reference
    # IB's lesson: 1490.00 typed for 149.00
    typo = check(limit_order("BUY", 10, 1490.0), _details(), limits, REF, REGULAR)
    assert [p.message_id for p in typo] == ["o163", "o451"]
    assert "900.0% from 149.00 (the last price)" in typo[0].text and typo[0].limit
    assert _ids(stop_order("SELL", 10, 141.60), limits) == ["o10331"]  # 4.97% away: within


def test_hard_limits_are_marked_hard():
    limits = RiskConfig(
        hard_max_quantity=Decimal(100), hard_max_order_value=1e6, hard_max_price_deviation_pct=50
    )
    found = check(limit_order("BUY", 101, 1490.0), _details(), limits, REF, REGULAR)
    assert [(p.message_id, p.hard) for p in found] == [
        ("o383", True), ("o163", True), ("o451", False),
    ]  # fmt: skip
    assert "hard_max_quantity" in found[0].text


def test_advisories_stop_orders_hours_and_no_market_data():
    assert _ids(stop_order("SELL", 10, 145.0)) == ["o10331"]
    assert _ids(limit_order("BUY", 10, 149.0), now=PRE_MARKET) == ["t2"]
    assert _ids(market_order("BUY", 10), now=PRE_MARKET) == ["t3"]
    assert _ids(market_order("BUY", 10), now=NIGHT) == ["t3"]
    assert _ids(limit_order("BUY", 10, 149.0, outside_rth=True)) == ["t2"]
    assert _ids(limit_order("BUY", 10, 149.0), reference=None) == ["o354"]
    assert _ids(market_order("BUY", 10), now=datetime(2025, 3, 1, tzinfo=UTC)) == []  # unlisted


def test_session_state_reads_tws_hours_text():
    details = _details(
        "20250106:0930-20250106:1600;20250104:CLOSED",
        "20250106:0400-20250106:2000",
    )
    assert session_state(details, REGULAR) == "regular"
    assert session_state(details, PRE_MARKET) == "extended"
    assert session_state(details, datetime(2025, 1, 4, 15, tzinfo=UTC)) == "closed"
    assert session_state(details, datetime(2025, 2, 1, tzinfo=UTC)) is None
    assert session_state(_details("garbage", "garbage"), REGULAR) is None
    legacy = _details("20250106:0930-1600;20250107:CLOSED", "20250106:0400-2000")
    assert session_state(legacy, REGULAR) == "regular"


class _Facts:
    def __init__(self, reference=REF, now=REGULAR):
        self.ref, self.time = reference, now

    def reference(self, details):
        return self.ref

    def now(self):
        return self.time


def test_the_guard_policy_by_mode_and_caller(caplog):
    details = _details()
    big = limit_order("BUY", 2000, 149.0)
    stop = stop_order("SELL", 10, 145.0)
    never = RiskGuard(RiskConfig(max_order_value=1e9), _Facts())
    with caplog.at_level(logging.WARNING, "twsapp.risk"), pytest.raises(RiskRefused) as info:
        never.check(details, big)
    assert not info.value.askable and 'confirm = "never"' in str(info.value)
    assert any(r.levelno == logging.WARNING and "o383" in r.message for r in caplog.records)
    with never.confirmed("o383"), pytest.raises(RiskRefused):
        never.check(details, big)  # "never" cannot be confirmed past
    never.check(details, stop)  # an advisory: nobody is asked, it goes
    ask = RiskGuard(RiskConfig(confirm="ask", max_order_value=1e9), _Facts())
    with pytest.raises(RiskRefused, match=r'app\.risk\.confirmed\("o383"\)'):
        ask.check(details, big)
    with ask.confirmed("o383"):
        ask.check(details, big)
    ask.check(details, stop)  # Python is not asked about advisories
    with ask.answering(), pytest.raises(RiskRefused) as info:
        ask.check(details, stop)  # the control API is
    assert info.value.askable and [p.message_id for p in info.value.precautions] == ["o10331"]
    with ask.answering({"o10331"}):
        ask.check(details, stop)
    always = RiskGuard(RiskConfig(confirm="always"), _Facts())
    with always.answering(), pytest.raises(RiskRefused) as info:
        always.check(details, limit_order("BUY", 1, 149.0))
    assert [p.message_id for p in info.value.precautions] == ["t1"]
    hard = RiskGuard(
        RiskConfig(confirm="ask", max_order_value=1e9, hard_max_quantity=Decimal(100)), _Facts()
    )
    with hard.answering({"o383"}), pytest.raises(RiskRefused) as info:
        hard.check(details, big)
    assert not info.value.askable and "hard" in str(info.value)


# --------------------------------------------------------------------------- over the socket


@pytest.fixture
def risky(sim):
    """An app on the simulator with [risk] limits (ask), and the simulator's record."""
    apps = []

    def make(**limits) -> TwsApp:
        prices = LastFillPrices()
        config = RiskConfig(**{"confirm": "ask", **limits})
        app = TwsApp(request_timeout=WAIT, risk=config, prices=prices)
        app.start("127.0.0.1", sim.port, 1, WAIT)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.stop()


def test_python_orders_are_held_to_the_limits_and_nothing_is_sent(sim, risky, caplog):
    app = risky(max_quantity=Decimal(5))
    aapl = app.contracts.lookup("AAPL")
    with caplog.at_level(logging.WARNING, "twsapp.risk"), pytest.raises(RiskRefused):
        app.place(aapl, market_order("BUY", 10))
    barrier(app)
    assert placed_ids(sim, 1) == [] and app.book.records() == []
    assert [r.levelname for r in caplog.records if r.name == "twsapp.risk"] == ["WARNING"]
    with pytest.raises(RiskRefused, match="o163"):  # the 1490-for-149 typo, snapshot reference
        app.place(aapl, limit_order("BUY", 1, 1490.0))
    barrier(app)
    assert placed_ids(sim, 1) == []
    with app.risk.confirmed("o383"):
        record = app.place(aapl, market_order("BUY", 10))
    barrier(app)
    assert placed_ids(sim, 1) == [record.order_id]


def test_a_modify_beyond_the_limits_is_not_sent(sim, risky):
    app = risky(max_quantity=Decimal(5), hard_max_price_deviation_pct=20)
    aapl = app.contracts.lookup("AAPL")
    record = app.place(aapl, limit_order("BUY", 5, 145.0))  # rests below the market
    events = Events(app)
    events.status(record.order_id, "Submitted")
    sent = len(placed_ids(sim, 1))
    with pytest.raises(RiskRefused, match="o383"):
        app.modify(record.order_id, quantity=6)
    with app.risk.confirmed("o163"), pytest.raises(RiskRefused, match="hard"):
        app.modify(record.order_id, price=200.0)
    barrier(app)
    assert len(placed_ids(sim, 1)) == sent
    assert app.book.get(record.order_id).modifications == ()
    app.modify(record.order_id, quantity=4)  # within: sent
    barrier(app)
    assert len(placed_ids(sim, 1)) == sent + 1


def test_the_never_mode_refuses_a_tripped_limit_from_python(sim):
    app = TwsApp(request_timeout=WAIT, risk=RiskConfig(max_order_value=1000.0))
    app.start("127.0.0.1", sim.port, 1, WAIT)
    try:
        with pytest.raises(RiskRefused, match="o451"):
            app.place("AAPL", market_order("BUY", 10))  # ~1500 at the snapshot's last
        barrier(app)
        assert placed_ids(sim, 1) == []
    finally:
        app.stop()


STRATEGY = """
from twsapp.strategy import Strategy

class Big(Strategy):
    def on_start(self):
        self.ctx.buy(self.ctx.lookup("AAPL"), 10)

STRATEGY = Big
"""


def test_a_strategy_cannot_answer_so_its_order_is_refused(sim, risky, tmp_path, monkeypatch):
    from strategy_harness import Driven

    (tmp_path / "big_buyer.py").write_text(textwrap.dedent(STRATEGY))
    monkeypatch.syspath_prepend(str(tmp_path))
    app = risky(max_quantity=Decimal(5))
    driven = Driven(app, sim, "big_buyer", {})
    driven.runner.start()
    driven.runner.join(WAIT)  # its on_start raised: the strategy failed and its thread ended
    barrier(app)
    assert driven.runner.failed
    assert "a strategy cannot answer" in str(driven.runner.error)
    assert placed_ids(sim, 1) == []
    with pytest.raises(OrderRefused, match="cannot confirm"):
        _on_strategy_thread(lambda: app.risk.confirmed("o383").__enter__())


def _on_strategy_thread(work):
    import threading

    failure: list[BaseException] = []

    def run():
        try:
            work()
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=run, name="strategy-probe")
    thread.start()
    thread.join(WAIT)
    if failure:
        raise failure[0]
