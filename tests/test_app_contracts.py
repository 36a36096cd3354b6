"""Contract lookup over the socket: unique, ambiguous, unknown, by conId, cached, tick rounding."""

from __future__ import annotations

import pytest
from app_helpers import AAPL
from ibapi.contract import Contract

from twsapp.exceptions import ContractNotFound
from twsapp.session import AmbiguousContract
from twsapp.sim import messages as m

IBM_NYSE, IBM_IBIS = 8314, 38709539


def requests_of(sim, kind, client_id=1):
    return [r for r in sim.received(client_id) if isinstance(r, kind)]


def test_unique_symbol(app, sim):
    details = app.contracts.lookup("AAPL")
    c = details.contract
    assert (c.conId, c.symbol, c.secType, c.currency) == (AAPL, "AAPL", "STK", "USD")
    assert c.exchange == "SMART" and c.primaryExchange == "NASDAQ"
    assert details.minTick == 0.01 and details.longName == "APPLE INC"
    [request] = requests_of(sim, m.ReqContractDetails)
    sent = request.contract
    assert (sent.symbol, sent.secType, sent.exchange, sent.currency) == (
        "AAPL",
        "STK",
        "SMART",
        "USD",
    )


def test_ambiguous_symbol_lists_the_candidates(app):
    with pytest.raises(AmbiguousContract) as caught:
        app.contracts.lookup("IBM", currency="")
    error = caught.value
    assert sorted(d.contract.conId for d in error.candidates) == [IBM_NYSE, IBM_IBIS]
    text = str(error)
    assert "IBM STK SMART matches 2 contracts" in text
    for con_id, primary, currency in ((IBM_NYSE, "NYSE", "USD"), (IBM_IBIS, "IBIS", "EUR")):
        assert f"conId {con_id} IBM STK exchange SMART primary {primary} currency {currency}" in (
            text
        )
    assert "or the conId" in text
    # the user picks with what the message offered: the currency, or the conId
    assert app.contracts.lookup("IBM", currency="EUR").contract.conId == IBM_IBIS
    assert app.contracts.by_conid(IBM_NYSE).contract.currency == "USD"


def test_futures_without_expiry_list_each_expiry(app):
    with pytest.raises(AmbiguousContract) as caught:
        app.contracts.lookup("ES", sec_type="FUT", exchange="CME")
    text = str(caught.value)
    assert "ESZ6 expiry 20261218" in text and "ESH7 expiry 20270319" in text
    picked = app.contracts.lookup(
        "ES", sec_type="FUT", exchange="CME", lastTradeDateOrContractMonth="202612"
    )
    assert picked.contract.localSymbol == "ESZ6"


def test_unknown_symbol_names_the_request(app, sim):
    with pytest.raises(ContractNotFound) as caught:
        app.contracts.lookup("NOSUCH", currency="CHF")
    text = str(caught.value)
    assert "NOSUCH STK SMART CHF" in text and "200" in text
    assert "check symbol, secType, exchange and currency" in text
    assert len(requests_of(sim, m.ReqContractDetails)) == 1
    with pytest.raises(ContractNotFound, match="conId 999999"):
        app.contracts.by_conid(999999)


def test_by_conid_is_one_contract_although_tws_answers_a_row_per_exchange(app, sim):
    details = app.contracts.by_conid(AAPL)
    assert details.contract.conId == AAPL and details.contract.symbol == "AAPL"
    assert details.contract.exchange == "SMART"
    [request] = requests_of(sim, m.ReqContractDetails)
    assert request.contract.conId == AAPL and request.contract.exchange == ""
    # a conId on a named exchange is its own row
    island = app.contracts.by_conid(AAPL, exchange="ISLAND")
    assert island.contract.exchange == "ISLAND" and island.contract.conId == AAPL
    assert app.contracts.by_conid(AAPL).contract.exchange == "SMART"


def test_futures_by_conid_take_their_own_exchange(app):
    details = app.contracts.by_conid(515416632)  # ESZ6: CME, QBALGO, no SMART
    assert details.contract.localSymbol == "ESZ6" and details.contract.exchange == "CME"


def test_second_lookup_sends_no_request(app, sim):
    first = app.contracts.lookup("AAPL")
    assert app.contracts.lookup("AAPL") is first
    assert app.contracts.by_conid(AAPL) is first  # the lookup filled the conId cache too
    contract = Contract()
    contract.conId = AAPL
    assert app.contracts.resolve(contract) is first
    assert app.contracts.resolve("AAPL") is first
    assert len(requests_of(sim, m.ReqContractDetails)) == 1


def test_tick_rounding_follows_the_market_rule(app, sim):
    """IBM on IBIS (EUR) trades on a price-dependent ladder: minTick alone would be wrong."""
    ibis = app.contracts.lookup("IBM", currency="EUR")
    assert ibis.minTick == 0.001 and ibis.marketRuleIds
    assert app.contracts.round_price(ibis, 123.456) == 123.45  # 0.05 above 100
    assert app.contracts.round_price(ibis, 123.48) == 123.5
    assert app.contracts.round_price(ibis, 123.456, "up") == 123.5
    assert app.contracts.round_price(ibis, 12.345) == 12.35  # 0.01 between 10 and 50; half up
    assert app.contracts.round_price(ibis, 0.1234) == 0.123  # 0.001 below 1
    assert app.contracts.round_price(ibis, 250.04) == 250.0  # 0.1 above 200
    assert app.contracts.check_price(ibis, 123.45)
    assert not app.contracts.check_price(ibis, 123.46)
    assert app.contracts.check_price(ibis, 12.34) and not app.contracts.check_price(ibis, 12.345)
    [rule_request] = requests_of(sim, m.ReqMarketRule)  # asked once, then cached
    assert rule_request.market_rule_id == 1744
    usd = app.contracts.lookup("AAPL")
    assert app.contracts.round_price(usd, 149.996) == 150.0
    assert app.contracts.round_price(usd, 149.994) == 149.99
    assert app.contracts.check_price(usd, 149.0) and not app.contracts.check_price(usd, 149.005)
    assert [r.market_rule_id for r in requests_of(sim, m.ReqMarketRule)] == [1744, 26]
