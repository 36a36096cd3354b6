"""The simulator's own rules for the order types of issue 9, without the app: what it refuses
(it keeps its own table, and a client other than twsapp skips twsapp's checks), the trigger
rules as pure functions, and what openOrder carries of a trailing stop.
"""

from __future__ import annotations

import math
from decimal import Decimal

import pytest
from ibapi.order import Order
from ibapi.tag_value import TagValue
from sim_client import order, stock

from twsapp.sim.triggers import Look, Work, is_hit, peg, reference, rises, to_tick, trail

AAPL = 265598
ESZ6 = 515416632


def raw(action: str, quantity: int, order_type: str, **fields) -> Order:
    o = order(action, quantity, order_type)
    for name, value in fields.items():
        setattr(o, name, value)
    return o


def refusal(client, contract, o):
    order_id, since = client.next_id(), client.mark()
    client.placeOrder(order_id, contract, o)
    client.sync()
    [error] = [e for e in client.of("error", since) if e.reqId == order_id]
    assert not client.of("openOrder", since), "a refused order is never announced"
    return error.errorCode, error.errorString


# ---------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("fields", "code", "words"),
    [
        (("TRAIL", {}), 321, "Exactly one of trailing amount or trailing percent"),
        (("TRAIL", {"auxPrice": 1.0, "trailingPercent": 2.0}), 321, "Exactly one of"),
        (("TRAIL", {"auxPrice": 1.005}), 110, "minimum price variation"),
        (("TRAIL LIMIT", {"auxPrice": 1.0, "lmtPriceOffset": 0.1}), 321, "trail stop price"),
        (("MIT", {}), 321, "Missing or invalid trigger price"),
        (("LIT", {"auxPrice": 99.0}), 321, "Missing or invalid limit price"),
        (("MOC", {"tif": "GTC"}), 113, "should be set to DAY for MOC and LOC"),
        (("LOC", {"lmtPrice": 100.0, "tif": "IOC"}), 113, "DAY for MOC and LOC"),
        (("REL", {"auxPrice": -0.01}), 321, "Missing or invalid offset"),
        (("STP", {"auxPrice": 99.0, "triggerMethod": 5}), 321, "Invalid trigger method: 5"),
        (("LMT", {"lmtPrice": 99.0, "ocaGroup": "g", "ocaType": 4}), 321, "Invalid OCA type"),
        (("PEG MID", {"auxPrice": 0.0}), 387, "Unsupported order type"),
    ],
    ids=lambda v: v[0] if isinstance(v, tuple) else None,
)
def test_the_simulator_refuses_what_tws_refuses(client, fields, code, words):
    kind, extra = fields
    got_code, text = refusal(client, stock("AAPL"), raw("SELL", 10, kind, **extra))
    assert got_code == code and words in text, text


def test_order_types_an_instrument_does_not_offer_are_refused(client):
    """ES futures list no MOC and no REL (their contract details' orderTypes): 387."""
    es = stock("ES", "CME")
    es.secType, es.localSymbol = "FUT", "ESZ6"
    for o in (raw("BUY", 1, "MOC"), raw("BUY", 1, "REL", auxPrice=0.25)):
        code, text = refusal(client, es, o)
        assert code == 387 and text == "Unsupported order type for this exchange and security type."


def test_algos_other_than_adaptive_and_bad_priorities_are_refused(client):
    vwap = raw("BUY", 10, "MKT", algoStrategy="Vwap", algoParams=[TagValue("maxPctVol", "0.1")])
    code, text = refusal(client, stock("AAPL"), vwap)
    assert code == 321 and "'Vwap' is not supported by the twsapp simulator" in text
    loud = raw("BUY", 10, "MKT", algoStrategy="Adaptive")
    loud.algoParams = [TagValue("adaptivePriority", "Loud")]
    assert refusal(client, stock("AAPL"), loud)[0] == 321
    on_stop = raw("BUY", 10, "STP", auxPrice=200.0, algoStrategy="Adaptive")
    on_stop.algoParams = [TagValue("adaptivePriority", "Normal")]
    assert refusal(client, stock("AAPL"), on_stop)[0] == 387


def test_a_trailing_stops_echo_carries_its_stop(sim, client):
    """openOrder's trailStopPrice is where the stop is: TWS's own initial stop (the last price
    less the amount) when the client gave none."""
    last = sim.exchange.prices.quote(AAPL, 0.0).last
    order_id, since = client.next_id(), client.mark()
    client.placeOrder(order_id, stock("AAPL"), raw("SELL", 10, "TRAIL", auxPrice=1.5))
    status = client.wait_status(order_id, "PreSubmitted", since)
    echo = client.wait("openOrder", since).order
    assert echo.trailStopPrice == round(last - 1.5, 2) and echo.auxPrice == 1.5
    assert status.whyHeld == "trigger"


# ---------------------------------------------------------------------- pure rules


def look(last=100.0, bid=99.99, ask=100.01, bid_size=100, ask_size=100, trades=None) -> Look:
    prints = tuple((p, Decimal(s)) for p, s in (trades or [(last, 100)]))
    mid = (bid + ask) / 2
    return Look(prints, last, bid, ask, Decimal(bid_size), Decimal(ask_size), mid)


def test_direction_of_each_kind():
    assert rises("STP", "BUY") and not rises("STP", "SELL")
    assert rises("TRAIL", "BUY") and not rises("TRAIL LIMIT", "SELL")
    assert not rises("MIT", "BUY") and rises("LIT", "SELL")


def test_last_and_bid_ask_and_midpoint():
    work = Work()
    at_stop = look(last=101.0, bid=100.99, ask=101.01)
    assert is_hit(work, 2, at_stop, 101.0, up=True)  # the last reached it
    assert not is_hit(work, 4, at_stop, 101.0, up=True)  # the bid did not (a buy watches it)
    assert is_hit(work, 4, at_stop, 101.01, up=False)  # a sell watches the ask
    assert is_hit(work, 8, at_stop, 101.0, up=True)  # the midpoint 101.00
    assert is_hit(work, 7, look(last=100.9, bid=101.0, ask=101.02), 101.0, up=True)


def test_double_last_needs_two_trades_or_a_bigger_one():
    work = Work()
    assert not is_hit(work, 3, look(trades=[(101.0, 300)]), 101.0, up=True)
    assert is_hit(work, 3, look(trades=[(101.0, 100)]), 101.0, up=True)  # the second in a row
    work = Work()
    prints = [(100.9, 100), (101.0, 200)]  # one through, and bigger than the one before
    assert is_hit(work, 3, look(trades=prints), 101.0, up=True)
    work = Work()
    prints = [(100.9, 300), (101.0, 200), (100.9, 100), (101.0, 100)]
    assert not is_hit(work, 3, look(trades=prints), 101.0, up=True)


def test_double_bid_ask_needs_two_seconds_or_a_bigger_size():
    work = Work()
    assert not is_hit(work, 1, look(bid=101.0, bid_size=300), 101.0, up=True)
    assert is_hit(work, 1, look(bid=101.0, bid_size=100), 101.0, up=True)
    work = Work()
    assert not is_hit(work, 1, look(bid=100.9, bid_size=100), 101.0, up=True)
    assert is_hit(work, 1, look(bid=101.0, bid_size=200), 101.0, up=True)  # size grew
    with pytest.raises(ValueError, match="unknown trigger method 5"):
        is_hit(Work(), 5, look(), 101.0, up=True)


def test_a_trailing_stop_moves_one_way_and_rounds_away_from_the_price():
    cents = [(0.0, 0.01)]
    assert trail(None, 100.0, 2.0, None, up=False, ladder=cents) == 98.0
    assert trail(98.0, 101.0, 2.0, None, up=False, ladder=cents) == 99.0  # a sell's rises
    assert trail(99.0, 100.0, 2.0, None, up=False, ladder=cents) == 99.0  # ... never falls
    assert trail(None, 97.0, None, 1.0, up=True, ladder=cents) == 97.97  # 97.97 exactly
    assert trail(None, 97.01, None, 1.0, up=True, ladder=cents) == 97.99  # 97.9801 up
    assert trail(None, 97.01, None, 1.0, up=False, ladder=cents) == 96.03  # 96.0399 down
    assert trail(97.0, 98.0, None, 1.0, up=True, ladder=cents) == 97.0  # a buy's never rises
    assert to_tick(Decimal("12.3456"), [(0.0, 0.01), (10.0, 0.05)], up=True) == 12.35


def test_reference_prices_and_pegs():
    q = look(last=100.0, bid=99.98, ask=100.02)
    assert reference(2, q, up=False) == 100.0 and reference(4, q, up=False) == 100.02
    assert reference(4, q, up=True) == 99.98 and math.isclose(reference(8, q, up=True), 100.0)
    no_trades = Look((), None, 1.1, 1.2, Decimal(1), Decimal(1), 1.15)
    assert reference(2, no_trades, up=True) is None
    assert peg("REL", True, q, 0.01, None) == 99.99
    assert peg("REL", False, q, 0.01, None) == 100.01
    assert peg("REL", True, q, 0.01, 99.5) == 99.5 and peg("REL", False, q, 0.01, 100.5) == 100.5
    assert (
        peg("MIDPRICE", True, q, 0.0, 99.9) == 99.9
        and peg("MIDPRICE", False, q, 0.0, None) == 100.0
    )
