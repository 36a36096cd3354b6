"""The simulator's instrument catalog: real identifiers, TWS matching, hours, market rules."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from decimal import Decimal
from importlib import resources
from pathlib import Path

import pytest
from ibapi.contract import Contract, ContractDetails
from ibapi.decoder import Decoder
from ibapi.wrapper import EWrapper

from twsapp.sim.clock import NEW_YORK
from twsapp.sim.instruments import (
    MARKET_RULES,
    Catalog,
    CatalogError,
    details_for_exchange,
    increment_at,
    is_on_increment,
    round_to_increment,
)

REPO = Path(__file__).resolve().parents[1]
CAPTURE_FILES = [REPO / "tests" / "fixtures" / "tws-captures.json"]


@pytest.fixture(scope="module")
def captures() -> dict[str, dict]:
    for path in CAPTURE_FILES:
        if path.exists():
            data = json.loads(path.read_text(encoding="utf-8"))
            return {c["name"]: c for c in data["captures"]}
    raise AssertionError("tests/fixtures/tws-captures.json is missing")


@pytest.fixture()
def catalog() -> Catalog:
    return Catalog.builtin(reference_date=date(2026, 11, 23))


def contract(**fields) -> Contract:
    c = Contract()
    for key, value in fields.items():
        setattr(c, key, value)
    return c


def con_ids(instruments) -> list[int]:
    return [i.con_id for i in instruments]


class _Collect(EWrapper):
    def __init__(self) -> None:
        super().__init__()
        self.details: list[ContractDetails] = []

    def contractDetails(self, reqId: int, contractDetails: ContractDetails) -> None:
        self.details.append(contractDetails)


def decode_contract_data(capture: dict) -> ContractDetails:
    """Decode a captured contractData message with ibapi's own decoder."""
    wrapper = _Collect()
    fields = [f.encode() for f in capture["fields"]]
    Decoder(wrapper, capture["server_version"]).interpret(tuple(fields[1:]), int(fields[0]))
    assert len(wrapper.details) == 1
    return wrapper.details[0]


def comparable(details: ContractDetails) -> dict:
    """Every field but the date-dependent hours, secIdList as plain pairs."""
    fields = {k: v for k, v in vars(details).items() if k not in ("contract", "secIdList")}
    fields.pop("tradingHours")
    fields.pop("liquidHours")
    fields["secIdList"] = [(t.tag, t.value) for t in details.secIdList or []]
    fields["contract"] = dict(vars(details.contract))
    return fields


# --------------------------------------------------------------------------- contents


def test_builtin_catalog_holds_the_real_identifiers(catalog: Catalog) -> None:
    expected = {
        265598: ("AAPL", "STK", "NASDAQ", "NMS", "USD"),
        8314: ("IBM", "STK", "NYSE", "IBM", "USD"),
        76792991: ("TSLA", "STK", "NASDAQ", "NMS", "USD"),
        756733: ("SPY", "STK", "ARCA", "SPY", "USD"),
        272093: ("MSFT", "STK", "NASDAQ", "NMS", "USD"),
        12087792: ("EUR", "CASH", "", "EUR.USD", "USD"),
        515416632: ("ES", "FUT", "", "ES", "USD"),
    }
    for con_id, (symbol, sec_type, primary, trading_class, currency) in expected.items():
        inst = catalog.by_conid(con_id)
        assert inst is not None, con_id
        c = inst.contract
        assert (c.symbol, c.secType, c.primaryExchange, c.tradingClass, c.currency) == (
            symbol,
            sec_type,
            primary,
            trading_class,
            currency,
        )
    stock = catalog.by_conid(265598)
    assert stock.contract.exchange == "SMART" and stock.min_tick == 0.01
    fx = catalog.by_conid(12087792)
    assert (fx.contract.exchange, fx.contract.localSymbol, fx.details.marketName) == (
        "IDEALPRO",
        "EUR.USD",
        "EUR.USD",
    )
    assert fx.min_tick == 0.00005
    es = catalog.by_conid(515416632)
    c = es.contract
    assert (c.exchange, c.multiplier, c.localSymbol, c.lastTradeDateOrContractMonth) == (
        "CME",
        "50",
        "ESZ6",
        "20261218",
    )
    assert es.min_tick == 0.25 and es.details.timeZoneId == "US/Central"
    assert es.details.contractMonth == "202612" and es.details.realExpirationDate == "20261218"


def test_tsla_reports_what_the_real_capture_reports(catalog: Catalog, captures) -> None:
    real = decode_contract_data(captures["contractData TSLA (SMART)"])
    ours = catalog.by_conid(76792991).contract_details("SMART")
    assert comparable(ours) == comparable(real)


def test_eurusd_reports_what_the_real_capture_reports(catalog: Catalog, captures) -> None:
    real = decode_contract_data(captures["contract details eurusd"])
    ours = catalog.by_conid(12087792).contract_details("IDEALPRO")
    assert comparable(ours) == comparable(real)


def test_every_captured_contract_we_list_has_the_same_identity(catalog: Catalog, captures) -> None:
    """openOrder/execDetails/position/completedOrder captures name conId, symbol, class..."""
    conid_at = {"5": 2, "61": 3, "101": 1, "11": 3}  # openOrder, position, completed, exec
    checked = 0
    for capture in captures.values():
        fields = capture["fields"]
        start = conid_at.get(fields[0])
        if start is None:
            continue
        con_id, symbol, sec_type = int(fields[start]), fields[start + 1], fields[start + 2]
        trading_class = fields[start + 10]  # after expiry..exchange, currency, localSymbol
        inst = catalog.by_conid(con_id)
        if inst is None:
            # ESU5 has expired: compare with the ES contracts we do list.
            listed = catalog.match(contract(symbol=symbol, secType=sec_type, exchange="CME"))
            assert listed, (capture["name"], symbol)
            inst = listed[0]
        else:
            assert inst.contract.symbol == symbol
        assert inst.contract.secType == sec_type
        assert inst.contract.tradingClass == trading_class, capture["name"]
        checked += 1
    assert checked >= 8


def test_es_identity_matches_the_completed_order_capture(catalog: Catalog, captures) -> None:
    fields = captures["completedOrder cancelled ES future"]["fields"]
    symbol, sec_type, _expiry, _strike, _right, multiplier, exchange, currency = fields[2:10]
    for inst in catalog.match(contract(symbol=symbol, secType=sec_type)):
        c = inst.contract
        assert (c.multiplier, c.exchange, c.currency, c.tradingClass) == (
            multiplier,
            exchange,
            currency,
            fields[11],
        )


def test_every_referenced_market_rule_exists_and_fits_min_tick(catalog: Catalog) -> None:
    for inst in catalog:
        assert len(inst.market_rule_ids) == len(inst.valid_exchanges), inst.symbol
        increments = []
        for rule_id in inst.market_rule_ids:
            rule = catalog.market_rule(rule_id)
            assert rule, (inst.symbol, rule_id)
            assert rule[0][0] == 0.0
            assert [low for low, _ in rule] == sorted({low for low, _ in rule})
            increments += [inc for _, inc in rule]
        # TWS's minTick is the smallest increment any of the instrument's rules allows.
        assert inst.min_tick == min(increments), inst.symbol
    assert catalog.market_rule(26) == [(0.0, 0.01)]
    assert catalog.market_rule(999_999) is None


def test_rule_for_exchange_follows_valid_exchanges_order(catalog: Catalog) -> None:
    aapl = catalog.by_conid(265598)
    assert aapl.rule_for_exchange("SMART") == 26
    assert aapl.rule_for_exchange("nasdaq") == 26  # NASDAQ and ISLAND are one venue
    with pytest.raises(KeyError):
        aapl.rule_for_exchange("IDEALPRO")
    ibis = catalog.match(contract(symbol="IBM", currency="EUR"))[0]
    assert ibis.rule_for_exchange("IBIS") == 1744


# --------------------------------------------------------------------------- matching


def test_conid_alone_identifies(catalog: Catalog) -> None:
    assert con_ids(catalog.match(contract(conId=265598))) == [265598]
    assert con_ids(catalog.match(contract(conId=265598, exchange="SMART"))) == [265598]
    assert catalog.match(contract(conId=265598, exchange="IDEALPRO")) == []
    assert catalog.match(contract(conId=1)) == []


def test_symbol_exchange_currency_is_unique(catalog: Catalog) -> None:
    found = catalog.match(contract(symbol="AAPL", secType="STK", exchange="SMART", currency="USD"))
    assert con_ids(found) == [265598]
    assert con_ids(catalog.match(contract(symbol="aapl", exchange="ISLAND"))) == [265598]
    assert con_ids(catalog.match(contract(symbol="AAPL", primaryExchange="ISLAND"))) == [265598]
    fx = contract(symbol="EUR", secType="CASH", exchange="IDEALPRO", currency="USD")
    assert con_ids(catalog.match(fx)) == [12087792]
    assert con_ids(catalog.match(contract(localSymbol="EUR.USD", secType="CASH"))) == [12087792]


def test_under_specified_request_returns_every_match(catalog: Catalog) -> None:
    both = catalog.match(contract(symbol="IBM", secType="STK", exchange="SMART"))
    assert sorted(i.contract.currency for i in both) == ["EUR", "USD"]
    assert len(catalog.match(contract(symbol="IBM"))) == 2
    assert con_ids(catalog.match(contract(symbol="IBM", currency="USD"))) == [8314]
    assert con_ids(catalog.match(contract(symbol="IBM", primaryExchange="NYSE"))) == [8314]
    assert len(catalog.match(contract(symbol="ES", secType="FUT", exchange="CME"))) == 2


def test_unknown_or_contradictory_requests_match_nothing(catalog: Catalog) -> None:
    assert catalog.match(contract(symbol="ZZZZNONE", secType="STK", exchange="SMART")) == []
    assert catalog.match(contract(symbol="AAPL", currency="EUR")) == []
    assert catalog.match(contract(symbol="AAPL", secType="FUT")) == []
    assert catalog.match(contract(symbol="EUR", secType="CASH", exchange="SMART")) == []
    assert catalog.match(contract(secType="STK", exchange="SMART")) == []  # no symbol at all


def test_future_by_month_prefix(catalog: Catalog) -> None:
    es = {"symbol": "ES", "secType": "FUT", "exchange": "CME", "currency": "USD"}
    assert con_ids(catalog.match(contract(**es, lastTradeDateOrContractMonth="202612"))) == [
        515416632
    ]
    assert con_ids(catalog.match(contract(**es, lastTradeDateOrContractMonth="20270319"))) == [
        649180684
    ]
    full = contract(**es, lastTradeDateOrContractMonth="20261218 08:30:00 US/Central")
    assert con_ids(catalog.match(full)) == [515416632]
    assert catalog.match(contract(**es, lastTradeDateOrContractMonth="202609")) == []
    assert con_ids(catalog.match(contract(localSymbol="ESZ6", secType="FUT"))) == [515416632]
    assert catalog.match(contract(**es, multiplier="5")) == []
    assert len(catalog.match(contract(**es, multiplier="50.0"))) == 2


def test_match_by_isin(catalog: Catalog) -> None:
    found = catalog.match(contract(secIdType="ISIN", secId="US0378331005", exchange="SMART"))
    assert con_ids(found) == [265598]
    assert len(catalog.match(contract(secIdType="ISIN", secId="US4592001014"))) == 2


def test_details_echo_the_requested_exchange_and_are_copies(catalog: Catalog) -> None:
    aapl = catalog.by_conid(265598)
    on_island = details_for_exchange(aapl, "ISLAND")
    assert on_island.contract.exchange == "ISLAND"
    on_island.contract.symbol = "XXX"
    on_island.minTick = 1.0
    assert aapl.contract.symbol == "AAPL" and aapl.contract.exchange == "SMART"
    assert aapl.min_tick == 0.01
    with pytest.raises(ValueError):
        details_for_exchange(aapl, "IDEALPRO")
    assert catalog.details_for_exchange(aapl, "").contract.exchange == "SMART"  # as listed
    assert catalog.details_for_exchange(aapl, "nyse").contract.exchange == "NYSE"


def test_request_without_exchange_gets_one_row_per_valid_exchange(catalog: Catalog) -> None:
    rows = catalog.details_for_request(contract(symbol="ES", secType="FUT", currency="USD"))
    assert sorted((r.contract.localSymbol, r.contract.exchange) for r in rows) == [
        ("ESH7", "CME"),
        ("ESH7", "QBALGO"),
        ("ESZ6", "CME"),
        ("ESZ6", "QBALGO"),
    ]
    rows = catalog.details_for_request(contract(symbol="AAPL", exchange="SMART", currency="USD"))
    assert [r.contract.exchange for r in rows] == ["SMART"]
    at = datetime(2026, 11, 30, 12, 0, tzinfo=NEW_YORK)
    rows = catalog.details_for_request(contract(conId=265598, exchange="SMART"), at=at)
    assert rows[0].liquidHours.startswith("20261130:0930-20261130:1600")


# --------------------------------------------------------------------------- hours


def test_hours_reproduce_real_captures() -> None:
    """Hours generated for the dates real TWS sessions were captured on equal what TWS sent."""
    tsla = Catalog.builtin(reference_date=date(2022, 12, 29)).by_conid(76792991)
    assert tsla.details.tradingHours == (  # contractData TSLA capture
        "20221229:0400-20221229:2000;20221230:0400-20221230:2000;20221231:CLOSED;"
        "20230101:CLOSED;20230102:CLOSED;20230103:0400-20230103:2000"
    )
    assert tsla.details.liquidHours == (
        "20221229:0930-20221229:1600;20221230:0930-20221230:1600;20221231:CLOSED;"
        "20230101:CLOSED;20230102:CLOSED;20230103:0930-20230103:1600"
    )
    aapl = Catalog.builtin(reference_date=date(2026, 7, 9)).by_conid(265598)
    assert aapl.details.liquidHours == (  # AAPL, live IB Gateway 2026-07-09
        "20260709:0930-20260709:1600;20260710:0930-20260710:1600;20260711:CLOSED;"
        "20260712:CLOSED;20260713:0930-20260713:1600;20260714:0930-20260714:1600"
    )
    monday = Catalog.builtin(reference_date=date(2026, 8, 24))
    assert monday.by_conid(515416632).details.tradingHours == (  # ESZ6, live 2026-08-24
        "20260823:1700-20260824:1600;20260824:1700-20260825:1600;20260825:1700-20260826:1600;"
        "20260826:1700-20260827:1600;20260827:1700-20260828:1600"
    )
    assert monday.by_conid(515416632).details.liquidHours == (
        "20260824:0830-20260824:1600;20260825:0830-20260825:1600;20260826:0830-20260826:1600;"
        "20260827:0830-20260827:1600;20260828:0830-20260828:1600"
    )
    assert monday.by_conid(12087792).details.tradingHours == (  # EUR.USD, live 2026-08-24
        "20260823:1715-20260824:1700;20260824:1715-20260825:1700;20260825:1715-20260826:1700;"
        "20260826:1715-20260827:1700;20260827:1715-20260828:1700"
    )
    assert monday.by_conid(272093).details.tradingHours == (  # MSFT, live 2026-08-24
        "20260824:0400-20260824:2000;20260825:0400-20260825:2000;20260826:0400-20260826:2000;"
        "20260827:0400-20260827:2000;20260828:0400-20260828:2000"
    )


ENTRY = re.compile(r"^(\d{8}):(CLOSED|\d{4}-(\d{8}):\d{4})$")


def test_hours_format_covers_the_reference_week(catalog: Catalog) -> None:
    for inst in catalog:
        for text in (inst.details.tradingHours, inst.details.liquidHours):
            entries = text.split(";")
            assert entries and all(ENTRY.match(e) for e in entries), (inst.symbol, text)
            assert not entries[-1].endswith("CLOSED")
            closing_days = [m.group(3) or m.group(1) for m in map(ENTRY.match, entries)]
            assert closing_days == sorted(closing_days)
            assert closing_days[0] <= "20261123" <= closing_days[-1]
    aapl = catalog.by_conid(265598).details
    assert "20261126:CLOSED" in aapl.liquidHours  # Thanksgiving
    assert "20261127:0930-20261127:1300" in aapl.liquidHours  # the half day after it


def test_set_reference_date_regenerates_hours(catalog: Catalog) -> None:
    catalog.set_reference_date(date(2026, 12, 23))
    aapl = catalog.by_conid(265598).details
    assert aapl.liquidHours == (
        "20261223:0930-20261223:1600;20261224:0930-20261224:1300;20261225:CLOSED;"
        "20261226:CLOSED;20261227:CLOSED;20261228:0930-20261228:1600"
    )
    catalog.set_reference_date(date(2026, 12, 21))  # the window ends on closed days: dropped
    assert catalog.by_conid(265598).details.liquidHours.endswith("20261224:0930-20261224:1300")


def test_is_trading_follows_sessions(catalog: Catalog) -> None:
    aapl = catalog.by_conid(265598)
    es = catalog.by_conid(515416632)
    open_ = datetime(2026, 11, 23, 9, 30, tzinfo=NEW_YORK)
    assert aapl.is_trading(open_, liquid_only=True)
    assert not aapl.is_trading(datetime(2026, 11, 23, 9, 29, tzinfo=NEW_YORK), liquid_only=True)
    assert aapl.is_trading(datetime(2026, 11, 23, 7, 0, tzinfo=NEW_YORK))
    assert not aapl.is_trading(datetime(2026, 11, 28, 12, 0, tzinfo=NEW_YORK))  # Saturday
    sunday_evening = datetime(2026, 11, 22, 18, 30, tzinfo=NEW_YORK)  # 17:30 Chicago
    assert es.is_trading(sunday_evening)
    assert not es.is_trading(sunday_evening, liquid_only=True)
    assert not es.is_trading(datetime(2026, 11, 23, 17, 30, tzinfo=NEW_YORK))  # daily halt


# --------------------------------------------------------------------------- increments


def test_increments() -> None:
    assert is_on_increment(MARKET_RULES[3188], 1.08735)
    assert not is_on_increment(MARKET_RULES[3188], 1.08736)
    assert is_on_increment(MARKET_RULES[26], 149.0)
    assert not is_on_increment(MARKET_RULES[26], 149.005)
    assert is_on_increment(MARKET_RULES[67], 6000.75)
    assert not is_on_increment(MARKET_RULES[67], 6000.1)
    tiered = MARKET_RULES[1744]
    assert increment_at(tiered, 0.5) == 0.001
    assert increment_at(tiered, 10.0) == 0.01
    assert increment_at(tiered, 215.0) == 0.1
    assert is_on_increment(tiered, 9.995) and not is_on_increment(tiered, 215.05)
    assert round_to_increment(MARKET_RULES[3188], 1.087374) == 1.08735
    assert round_to_increment(MARKET_RULES[67], 6000.13) == 6000.25
    assert round_to_increment(tiered, 215.04) == 215.0


# --------------------------------------------------------------------------- extension files

NVDA = {
    "symbol": "NVDA",
    "secType": "STK",
    "conId": 4815747,
    "primaryExchange": "NASDAQ",
    "currency": "USD",
    "tradingClass": "NMS",
    "minTick": 0.01,
    "basePrice": 180.0,
    "volatility": 0.03,
    "displaySize": 200,
}
SAP = {
    "symbol": "SAP",
    "secType": "STK",
    "conId": 14204,
    "primaryExchange": "IBIS",
    "currency": "EUR",
    "validExchanges": "SMART,IBIS",
    "marketRuleIds": "9001,9001",
    "marketRules": {"9001": [[0, 0.01], [100, 0.05]]},
    "timeZoneId": "MET",
    "hours": {"trading": "0900-1730", "calendar": "WEEKDAYS"},
    "minTick": 0.01,
    "basePrice": 230.0,
}


def write(tmp_path: Path, entries) -> Path:
    path = tmp_path / "instruments.json"
    path.write_text(json.dumps(entries), encoding="utf-8")
    return path


def test_builtin_catalog_is_the_packaged_json_file(tmp_path: Path) -> None:
    """The built-in entries ship as package data and go through the user-file parser."""
    shipped = resources.files("twsapp.sim").joinpath("instruments.json")
    entries = json.loads(shipped.read_text(encoding="utf-8"))
    assert all(isinstance(e.get("comment", ""), str) for e in entries)
    from_file = Catalog(reference_date=date(2026, 11, 23))
    from_file.extend_from_file(write(tmp_path, entries))
    builtin = Catalog.builtin(reference_date=date(2026, 11, 23))
    assert con_ids(from_file) == con_ids(builtin) and len(builtin) == len(entries)


def test_extension_file_adds_instruments_and_rules(catalog: Catalog, tmp_path: Path) -> None:
    before = len(catalog)
    added = catalog.extend_from_file(write(tmp_path, [NVDA, SAP]))
    assert con_ids(added) == [4815747, 14204] and len(catalog) == before + 2
    nvda = catalog.match(contract(symbol="NVDA", exchange="SMART", currency="USD"))[0]
    assert nvda.display_size == Decimal(200) and nvda.volatility == 0.03
    assert nvda.details.marketRuleIds == ",".join(["26"] * len(nvda.valid_exchanges))
    assert nvda.details.liquidHours.startswith("20261123:0930-20261123:1600")
    assert catalog.market_rule(9001) == [(0.0, 0.01), (100.0, 0.05)]
    sap = catalog.by_conid(14204)
    assert sap.rule_for_exchange("IBIS") == 9001 and sap.contract.exchange == "SMART"
    assert nvda.subscribed and sap.subscribed  # market data is subscribed unless said


def test_an_entry_can_be_without_market_data_subscription(catalog: Catalog, tmp_path: Path):
    (nosub,) = catalog.extend_from_file(
        write(tmp_path, [{**NVDA, "marketDataSubscription": False}])
    )
    assert not nosub.subscribed
    xetra = catalog.match(contract(symbol="IBM", currency="EUR"))[0]
    assert not xetra.subscribed  # the built-in Xetra listing: no subscription, as on paper


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"conId": None}, "conId"),
        ({"conId": "4815747"}, "conId"),
        ({"conId": 265598}, "conId"),  # AAPL's: duplicate
        ({"minTick": -0.01}, "minTick"),
        ({"basePrice": "cheap"}, "basePrice"),
        ({"secType": "WAR"}, "secType"),
        ({"minTik": 0.01}, "minTik"),  # a typo is an unknown key, not silently ignored
        ({"marketRuleIds": "26,26"}, "marketRuleIds"),  # count differs from validExchanges
        ({"marketRuleIds": 424242}, "marketRuleIds"),  # no such rule
        ({"exchange": "IDEALPRO"}, "exchange"),
        ({"timeZoneId": "Mars/Olympus"}, "timeZoneId"),
        ({"hours": {"trading": "9:30-16"}}, "hours"),
        ({"displaySize": 0}, "displaySize"),
        ({"secIdList": ["US67066G1040"]}, "secIdList"),
        ({"comment": ["not", "text"]}, "comment"),
        ({"marketDataSubscription": "no"}, "marketDataSubscription"),
    ],
)
def test_bad_entry_names_entry_and_key(catalog, tmp_path, change, key) -> None:
    entry = {**NVDA, **change}
    entry = {k: v for k, v in entry.items() if v is not None}
    path = write(tmp_path, [SAP, entry])
    before = len(catalog)
    with pytest.raises(CatalogError) as excinfo:
        catalog.extend_from_file(path)
    message = str(excinfo.value)
    assert str(path) in message and "entry 1" in message and repr(key) in message
    assert len(catalog) == before  # all or nothing: SAP was not added either
    assert catalog.market_rule(9001) is None


def test_bad_future_and_bad_files(catalog: Catalog, tmp_path: Path) -> None:
    fut = {
        "symbol": "NQ",
        "secType": "FUT",
        "conId": 1234567,
        "currency": "USD",
        "exchange": "CME",
        "validExchanges": "CME",
        "marketRuleIds": 67,
        "minTick": 0.25,
        "basePrice": 25000.0,
        "multiplier": "20",
        "lastTradeDateOrContractMonth": "202612",
    }
    with pytest.raises(CatalogError, match=r"entry 0 \(NQ\): key 'lastTradeDateOrContractMonth'"):
        catalog.extend_from_file(write(tmp_path, [fut]))
    fut["lastTradeDateOrContractMonth"] = "20261218"
    catalog.extend_from_file(write(tmp_path, [fut]))
    assert con_ids(catalog.match(contract(symbol="NQ", lastTradeDateOrContractMonth="202612"))) == [
        1234567
    ]
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(CatalogError, match="not valid JSON"):
        catalog.extend_from_file(bad)
    with pytest.raises(CatalogError, match="JSON list"):
        catalog.extend_from_file(write(tmp_path, {"symbol": "X"}))
    with pytest.raises(CatalogError, match="cannot read"):
        catalog.extend_from_file(tmp_path / "missing.json")
