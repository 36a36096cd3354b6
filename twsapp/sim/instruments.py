"""The simulator's instrument catalog: real identifiers and trading rules, matched like TWS does.

Every instrument is described by one *entry*, a flat mapping keyed by TWS's own field names
(``conId``, ``minTick``, ``marketRuleIds``...) plus simulation knobs (``basePrice``,
``volatility``, ``displaySize``, ``hours``, ``marketDataSubscription``). The built-in catalog and extension files use the
same schema and the same parser, so a user's file is checked as strictly as our own data.

The built-in entries live in ``instruments.json`` next to this module (package data), each with
an optional ``comment`` naming where its values come from: the captures in
``shared/fixtures/tws-captures.json`` (contractData TSLA, contract details EUR.USD, completedOrder
ES) and the public paper-Gateway transcripts (server versions 200..225) of the
ThomasMarcelis/ibkr-go repository for AAPL, MSFT, EUR.USD and ESZ6. Where neither had the value,
the comment says "unverified".
"""

from __future__ import annotations

import copy
import itertools
import json
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ibapi.const import UNSET_DOUBLE
from ibapi.contract import Contract, ContractDetails
from ibapi.tag_value import TagValue

from .clock import SessionTemplate, default_start
from .inputs import SimInputError

Rule = list[tuple[float, float]]  # (low edge, increment), ascending low edges

US_STOCK_TRADING = SessionTemplate(time(4, 0), time(20, 0), calendar="XNYS")
US_STOCK_LIQUID = SessionTemplate(time(9, 30), time(16, 0), calendar="XNYS")
#: IB's OVERNIGHT destination for US stocks: 20:00 to 03:50 New York time, from Sunday evening
#: to Friday morning (IBKR Campus, "Overnight Trading at Interactive Brokers Using TWS"). A
#: session belongs to the trading day it ends on, so none runs into a NYSE holiday.
OVERNIGHT = "OVERNIGHT"
US_OVERNIGHT = SessionTemplate(time(20, 0), time(3, 50), overnight=True, calendar="XNYS")

# Market rules (reqMarketRule) for every rule id the built-in catalog references.
MARKET_RULES: dict[int, Rule] = {
    # US stocks, all exchanges: as a paper IB Gateway (v200) answers reqMarketRule(26) in the
    # public transcript testdata/transcripts/market_rule.txt of ThomasMarcelis/ibkr-go.
    26: [(0.0, 0.01)],
    # CME ES: id from real contract details (ESZ6: "67,67"); content unverified, set to the
    # 0.25 index-point tick that minTick reports.
    67: [(0.0, 0.25)],
    # IDEALPRO EUR.USD: id from real contract details (the fixture's 'contract details eurusd'
    # capture); content unverified, set to
    # the default half-pip configuration that minTick 0.00005 reports.
    3188: [(0.0, 0.00005)],
    # IBIS (Xetra) shares: unverified id and ladder (an EU-style tiered tick regime), kept so
    # that one built-in instrument exercises price-dependent increments.
    1744: [
        (0.0, 0.001),
        (1.0, 0.005),
        (10.0, 0.01),
        (50.0, 0.02),
        (100.0, 0.05),
        (200.0, 0.1),
        (500.0, 0.2),
    ],
}


BUILTIN_FILE = "instruments.json"


def builtin_entries() -> list[dict[str, Any]]:
    """The built-in catalog's entries, as shipped in the package (same schema as user files)."""
    text = resources.files(__package__).joinpath(BUILTIN_FILE).read_text(encoding="utf-8")
    return json.loads(text)


class CatalogError(SimInputError):
    """A catalog entry is malformed; the message names the source, entry and key."""


# --------------------------------------------------------------------------- price increments


def _dec(value: float) -> Decimal:
    return Decimal(repr(float(value)))


def increment_at(rule: Sequence[tuple[float, float]], price: float) -> float:
    """The increment that applies at ``price`` (the tier with the highest low edge <= price)."""
    if not rule:
        raise ValueError("empty market rule")
    chosen = rule[0][1]
    for low_edge, increment in rule:
        if abs(price) >= low_edge:
            chosen = increment
    return chosen


def is_on_increment(rule: Sequence[tuple[float, float]], price: float) -> bool:
    """Whether ``price`` is a whole multiple of the increment the rule sets at that price."""
    try:
        steps = _dec(price) / _dec(increment_at(rule, price))
    except InvalidOperation:
        return False
    return steps == steps.to_integral_value()


def round_to_increment(rule: Sequence[tuple[float, float]], price: float) -> float:
    """``price`` rounded to the nearest valid increment, exactly representable as a decimal."""
    increment = _dec(increment_at(rule, price))
    steps = (_dec(price) / increment).to_integral_value(rounding=ROUND_HALF_EVEN)
    return float(steps * increment)


# --------------------------------------------------------------------------- instrument


@dataclass
class Instrument:
    """One tradable contract: what TWS reports for it, and how the simulator prices it.

    ``details`` is filled as TWS reports it when asked with the instrument's default exchange
    (SMART for stocks); its trading/liquid hours are generated for the catalog's reference date.
    ``volatility`` is a daily fraction (0.02 = 2 % a trading day). ``display_size`` caps what
    one fill can take (None = the exchange's default). ``trading``/``liquid`` are the session
    templates its hours are generated from. ``subscribed`` is False for an instrument the
    simulated account has no market data subscription for: live data is refused (354) and
    delayed data offered instead, as TWS does.
    """

    details: ContractDetails
    base_price: float
    volatility: float = 0.02
    display_size: Decimal | None = None
    trading: SessionTemplate = US_STOCK_TRADING
    liquid: SessionTemplate = US_STOCK_LIQUID
    subscribed: bool = True

    @property
    def contract(self) -> Contract:
        return self.details.contract

    @property
    def con_id(self) -> int:
        return self.details.contract.conId

    @property
    def symbol(self) -> str:
        return self.details.contract.symbol

    @property
    def min_tick(self) -> float:
        return self.details.minTick

    @property
    def time_zone(self) -> ZoneInfo:
        return ZoneInfo(self.details.timeZoneId)

    @property
    def valid_exchanges(self) -> list[str]:
        return [x for x in self.details.validExchanges.split(",") if x]

    @property
    def market_rule_ids(self) -> list[int]:
        return [int(x) for x in self.details.marketRuleIds.split(",") if x]

    def listed_as(self, exchange: str) -> str | None:
        """The validExchanges name ``exchange`` stands for (NASDAQ and ISLAND are one venue)."""
        wanted = exchange.strip().upper()
        listed = self.valid_exchanges
        if wanted in listed:
            return wanted
        alias = _EXCHANGE_ALIASES.get(wanted)
        return alias if alias in listed else None

    def trades_on(self, exchange: str) -> bool:
        """Whether an order or request may name ``exchange`` for this instrument."""
        return self.listed_as(exchange) is not None

    def rule_for_exchange(self, exchange: str) -> int:
        """The market rule id TWS applies on ``exchange`` (rule ids follow validExchanges)."""
        listed = self.listed_as(exchange)
        if listed is None:
            raise KeyError(f"{self.symbol} ({self.con_id}) does not trade on {exchange!r}")
        return self.market_rule_ids[self.valid_exchanges.index(listed)]

    def local_date(self, moment: datetime) -> date:
        """The calendar date at ``moment`` in the instrument's time zone (what its hours use)."""
        return moment.astimezone(self.time_zone).date()

    def is_trading(self, moment: datetime, liquid_only: bool = False) -> bool:
        """Whether ``moment`` falls in a session (the liquid/regular one if ``liquid_only``)."""
        template = self.liquid if liquid_only else self.trading
        return template.is_open(moment, self.time_zone)

    def contract_details(
        self, exchange: str | None = None, day: date | None = None
    ) -> ContractDetails:
        """A fresh copy of ``details`` as TWS answers a request naming ``exchange``.

        TWS echoes the requested exchange in the contract; hours are regenerated for ``day``
        when given.
        """
        result: ContractDetails = copy.deepcopy(self.details)
        if exchange:
            if not self.trades_on(exchange):
                raise ValueError(f"{self.symbol} ({self.con_id}) does not trade on {exchange!r}")
            result.contract.exchange = exchange.strip().upper()
        if day is not None:
            tz = self.time_zone
            result.tradingHours = self.trading.hours(day, tz)
            result.liquidHours = self.liquid.hours(day, tz)
            if result.contract.exchange == OVERNIGHT:  # a venue of its own, with its own hours
                result.tradingHours = result.liquidHours = US_OVERNIGHT.hours(day, tz)
        return result

    def set_hours_for(self, day: date) -> None:
        tz = self.time_zone
        self.details.tradingHours = self.trading.hours(day, tz)
        self.details.liquidHours = self.liquid.hours(day, tz)


def details_for_exchange(
    instrument: Instrument, exchange: str, day: date | None = None
) -> ContractDetails:
    """The ContractDetails TWS returns when asked for ``instrument`` on ``exchange``."""
    return instrument.contract_details(exchange, day)


# --------------------------------------------------------------------------- catalog


class Catalog:
    """Instruments by conId, with TWS's contract matching and the market rules they use."""

    def __init__(
        self,
        instruments: Iterable[Instrument] = (),
        market_rules: Mapping[int, Rule] | None = None,
        reference_date: date | None = None,
    ) -> None:
        self._by_conid: dict[int, Instrument] = {}
        self._rules: dict[int, Rule] = dict(MARKET_RULES if market_rules is None else market_rules)
        self._reference_date = reference_date or default_start().date()
        for instrument in instruments:
            self.add(instrument)

    @classmethod
    def builtin(cls, reference_date: date | None = None) -> Catalog:
        """The built-in catalog, hours generated for ``reference_date`` (default: next open)."""
        catalog = cls(reference_date=reference_date)
        catalog.extend_from_entries(builtin_entries(), source=BUILTIN_FILE)
        return catalog

    @property
    def reference_date(self) -> date:
        return self._reference_date

    def set_reference_date(self, day: date) -> None:
        """Regenerate every instrument's trading/liquid hours for ``day``."""
        self._reference_date = day
        for instrument in self:
            instrument.set_hours_for(day)

    def add(self, instrument: Instrument) -> None:
        if instrument.con_id in self._by_conid:
            raise CatalogError(f"conId {instrument.con_id} is already in the catalog")
        missing = [r for r in instrument.market_rule_ids if r not in self._rules]
        if missing:
            raise CatalogError(
                f"{instrument.symbol} ({instrument.con_id}): no market rule {missing}"
            )
        instrument.set_hours_for(self._reference_date)
        self._by_conid[instrument.con_id] = instrument

    def extend_from_file(self, path: str | Path) -> list[Instrument]:
        """Add the instruments of a JSON file holding a list of entries (see module doc)."""
        source = str(path)
        try:
            entries = json.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise CatalogError(
                f"{source}: cannot read instrument file ({exc.strerror or exc}) — check the path"
            ) from exc
        except UnicodeDecodeError as exc:
            raise CatalogError(
                f"{source}: not UTF-8 text (byte {exc.start}) — save it as UTF-8 JSON"
            ) from exc
        except json.JSONDecodeError as exc:
            raise CatalogError(
                f"{source}: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
                " — fix the JSON there"
            ) from exc
        if not isinstance(entries, list):
            raise CatalogError(
                f"{source}: holds a JSON {_json_kind(entries)} — it must hold a JSON list of "
                'instrument entries, e.g. [{"symbol": "SAP", "secType": "STK", ...}]'
            )
        if not entries:
            raise CatalogError(
                f"{source}: the list holds no instrument entries — add one, or leave the file out"
            )
        return self.extend_from_entries(entries, source=source)

    def extend_from_entries(
        self, entries: Sequence[Mapping[str, Any]], source: str = "<entries>"
    ) -> list[Instrument]:
        """Parse and add ``entries``; all or nothing: a bad entry adds none of them."""
        rules = dict(self._rules)
        parsed: list[Instrument] = []
        seen = set(self._by_conid)
        for index, entry in enumerate(entries):
            instrument = _parse_entry(entry, f"{source}: entry {index}", rules)
            if instrument.con_id in seen:
                raise CatalogError(
                    f"{source}: entry {index} ({instrument.symbol}): key 'conId': "
                    f"{instrument.con_id} is already in the catalog"
                )
            seen.add(instrument.con_id)
            parsed.append(instrument)
        self._rules = rules
        for instrument in parsed:
            self.add(instrument)
        return parsed

    def by_conid(self, con_id: int) -> Instrument | None:
        return self._by_conid.get(con_id)

    def market_rule(self, rule_id: int) -> Rule | None:
        rule = self._rules.get(rule_id)
        return list(rule) if rule is not None else None

    @property
    def market_rules(self) -> dict[int, Rule]:
        return {k: list(v) for k, v in self._rules.items()}

    def __iter__(self) -> Iterator[Instrument]:
        return iter(list(self._by_conid.values()))

    def __len__(self) -> int:
        return len(self._by_conid)

    def match(self, contract: Contract) -> list[Instrument]:
        """Every instrument ``contract`` describes, the way TWS resolves a request.

        A conId alone identifies (an exchange, if given, must be valid for it). Otherwise each
        non-empty field filters: symbol, secType, exchange (SMART or any valid exchange),
        currency, primaryExchange, localSymbol, tradingClass, multiplier, secId, and
        lastTradeDateOrContractMonth as a prefix (``202612`` matches ``20261218``). An
        under-specified request returns every match; no symbol, localSymbol or secId matches
        nothing.
        """
        exchange = _norm(contract.exchange)
        if contract.conId and contract.conId > 0:
            instrument = self.by_conid(contract.conId)
            if instrument is None or (exchange and not instrument.trades_on(exchange)):
                return []
            return [instrument]
        if not (_norm(contract.symbol) or _norm(contract.localSymbol) or _norm(contract.secId)):
            return []
        return [i for i in self if _matches(i, contract)]

    def details_for_exchange(
        self, instrument: Instrument, exchange: str, day: date | None = None
    ) -> ContractDetails:
        """See the module function: the row TWS sends for ``instrument`` on ``exchange``."""
        return instrument.contract_details(exchange or None, day)

    def details_for_request(
        self, contract: Contract, at: datetime | None = None
    ) -> list[ContractDetails]:
        """The contractDetails rows TWS sends for a reqContractDetails of ``contract``.

        With an exchange, one row per matching instrument echoing that exchange; without one,
        one row per valid exchange of each match.
        Hours are those of ``at`` (each instrument's local date), else of the reference date.
        """
        rows: list[ContractDetails] = []
        for instrument in self.match(contract):
            day = instrument.local_date(at) if at is not None else None
            exchanges = [contract.exchange] if contract.exchange else instrument.valid_exchanges
            rows.extend(instrument.contract_details(x, day) for x in exchanges)
        return rows


_PRIMARY_ALIASES = {"ISLAND": "NASDAQ", "NASDAQ": "NASDAQ"}
_EXCHANGE_ALIASES = {"NASDAQ": "ISLAND", "ISLAND": "NASDAQ"}


def _norm(value: object) -> str:
    return str(value or "").strip().upper()


def _same_multiplier(wanted: str, actual: str) -> bool:
    try:
        return float(wanted) == float(actual or 0)
    except ValueError:
        return _norm(wanted) == _norm(actual)


def _matches(instrument: Instrument, wanted: Contract) -> bool:
    have = instrument.contract
    details = instrument.details
    checks: list[tuple[str, str]] = [
        (wanted.symbol, have.symbol),
        (wanted.secType, have.secType),
        (wanted.currency, have.currency),
        (wanted.localSymbol, have.localSymbol),
        (wanted.tradingClass, have.tradingClass),
        (wanted.right, have.right),
    ]
    if any(_norm(w) and _norm(w) != _norm(h) for w, h in checks):
        return False
    exchange = _norm(wanted.exchange)
    if exchange and not instrument.trades_on(exchange):
        return False
    primary = _norm(wanted.primaryExchange)
    if primary and _PRIMARY_ALIASES.get(primary, primary) != _PRIMARY_ALIASES.get(
        _norm(have.primaryExchange), _norm(have.primaryExchange)
    ):
        return False
    if wanted.multiplier and not _same_multiplier(wanted.multiplier, have.multiplier):
        return False
    if wanted.strike not in (0.0, UNSET_DOUBLE) and wanted.strike != have.strike:
        return False
    expiry = (wanted.lastTradeDateOrContractMonth or "").split(" ")[0].strip()
    if expiry and not (
        have.lastTradeDateOrContractMonth.startswith(expiry) or details.contractMonth == expiry
    ):
        return False
    if _norm(wanted.secId):
        ids = {(_norm(t.tag), _norm(t.value)) for t in details.secIdList or []}
        if not any(value == _norm(wanted.secId) for _, value in ids):
            return False
        if _norm(wanted.secIdType) and (_norm(wanted.secIdType), _norm(wanted.secId)) not in ids:
            return False
    return True


# --------------------------------------------------------------------------- entry parsing

STOCK_ORDER_TYPES = (
    "ACTIVETIM,AD,ADJUST,ALERT,ALGO,ALLOC,AON,AVGCOST,BASKET,BENCHPX,CASHQTY,COND,CONDORDER,"
    "DARKONLY,DARKPOLL,DAY,DEACT,DEACTDIS,DEACTEOD,DIS,DUR,GAT,GTC,GTD,GTT,HID,IBKRATS,ICE,IMB,"
    "IOC,LIT,LMT,LOC,MIDPX,MIT,MKT,MOC,MTL,NGCOMB,NODARK,NONALGO,OCA,OPG,OPGREROUT,PEGBENCH,"
    "PEGMID,POSTATS,POSTONLY,PREOPGRTH,PRICECHK,REL,REL2MID,RELPCTOFS,RPI,RTH,SCALE,SCALEODD,"
    "SCALERST,SIZECHK,SNAPMID,SNAPMKT,SNAPREL,STP,STPLMT,SWEEP,TRAIL,TRAILLIT,TRAILLMT,TRAILMIT,"
    "WHATIF"
)
FOREX_ORDER_TYPES = (
    "ACTIVETIM,AD,ADJUST,ALERT,ALGO,ALLOC,AVGCOST,BASKET,CASHQTY,COND,CONDORDER,DAY,DEACT,"
    "DEACTDIS,DEACTEOD,GAT,GTC,GTD,GTT,HID,IOC,LIT,LMT,MIT,MKT,NONALGO,OCA,REL,RELPCTOFS,SCALE,"
    "SCALERST,STP,STPLMT,TRAIL,TRAILLIT,TRAILLMT,TRAILMIT,WHATIF"
)
FUTURE_ORDER_TYPES = (
    "ACTIVETIM,AD,ADJUST,ALERT,ALGO,ALLOC,AVGCOST,BASKET,BENCHPX,COND,CONDORDER,DAY,DEACT,"
    "DEACTDIS,DEACTEOD,GAT,GTC,GTD,GTT,HID,ICE,IOC,LIT,LMT,LTH,MIT,MKT,MKTPROT,MTL,NGCOMB,"
    "NONALGO,OCA,PEGBENCH,SCALE,SCALERST,SNAPMID,SNAPMKT,SNAPREL,STP,STPLMT,STPPROT,TRAIL,"
    "TRAILLIT,TRAILLMT,TRAILMIT,WHATIF"
)
US_STOCK_EXCHANGES = (
    "SMART,AMEX,NYSE,CBOE,PHLX,ISE,CHX,ARCA,ISLAND,DRCTEDGE,BEX,BATS,EDGEA,CSFBALGO,JEFFALGO,"
    "BYX,IEX,EDGX,FOXRIVER,PEARL,NYSENAT,LTSE,MEMX,PSX"
)

# Per secType: what an entry may leave out. Values follow the captures named in the module doc.
_SECTYPE_DEFAULTS: dict[str, dict[str, Any]] = {
    "STK": {
        "orderTypes": STOCK_ORDER_TYPES,
        "timeZoneId": "US/Eastern",
        "aggGroup": 1,
        "stockType": "COMMON",
        "minSize": "1",
        "sizeIncrement": "1",
        "suggestedSizeIncrement": "100",
        "hours": {"trading": "0400-2000", "liquid": "0930-1600", "calendar": "XNYS"},
    },
    "CASH": {
        "orderTypes": FOREX_ORDER_TYPES,
        "validExchanges": "IDEALPRO",
        "exchange": "IDEALPRO",
        "marketRuleIds": "3188",
        "timeZoneId": "US/Eastern",
        "aggGroup": 4,
        "minSize": "0.01",
        "sizeIncrement": "0.01",
        "suggestedSizeIncrement": "0.01",
        "hours": {
            "trading": "1715-1700",
            "liquid": "1715-1700",
            "overnight": True,
            "calendar": "FX",
        },
    },
    "FUT": {
        "orderTypes": FUTURE_ORDER_TYPES,
        "timeZoneId": "US/Central",
        "minSize": "1",
        "sizeIncrement": "1",
        "suggestedSizeIncrement": "1",
        "hours": {
            "trading": "1700-1600",
            "overnight": True,
            "liquid": "0830-1600",
            "calendar": "CMES",
        },
    },
}

_STR_KEYS = [
    "exchange",
    "primaryExchange",
    "localSymbol",
    "tradingClass",
    "marketName",
    "multiplier",
    "lastTradeDateOrContractMonth",
    "lastTradeTime",
    "contractMonth",
    "realExpirationDate",
    "orderTypes",
    "validExchanges",
    "longName",
    "industry",
    "category",
    "subcategory",
    "timeZoneId",
    "evRule",
    "underSymbol",
    "underSecType",
    "stockType",
]
_INT_KEYS = ("priceMagnifier", "underConId", "evMultiplier", "aggGroup")
_SIZE_KEYS = ("minSize", "sizeIncrement", "suggestedSizeIncrement")
_KNOWN_KEYS = {
    "symbol",
    "secType",
    "conId",
    "currency",
    "minTick",
    "basePrice",
    "volatility",
    "displaySize",
    "marketRuleIds",
    "secIdList",
    "hours",
    "marketRules",
    "marketDataSubscription",
    "comment",
} | set(_STR_KEYS + list(_INT_KEYS) + list(_SIZE_KEYS))


def _json_kind(value: object) -> str:
    names = {dict: "object", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number")


def _parse_entry(entry: Mapping[str, Any], where: str, rules: dict[int, Rule]) -> Instrument:
    """One entry -> Instrument; ``rules`` receives the entry's own ``marketRules``."""
    if not isinstance(entry, Mapping):
        raise CatalogError(f"{where}: must be a JSON object, got {type(entry).__name__}")
    label = f"{where} ({entry.get('symbol', '?')})"

    def fail(key: str, problem: str) -> CatalogError:
        return CatalogError(f"{label}: key {key!r}: {problem}")

    unknown = sorted(set(entry) - _KNOWN_KEYS)
    if unknown:
        raise fail(unknown[0], "unknown key (check the spelling: TWS field names are camelCase)")

    def required(key: str) -> Any:
        if key not in entry or entry[key] in (None, ""):
            raise fail(key, "is required — add it to this entry")
        return entry[key]

    def text(key: str, value: Any) -> str:
        if not isinstance(value, str):
            raise fail(key, f"must be a string, got {value!r}")
        return value.strip()

    def number(key: str, value: Any, positive: bool = True) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise fail(key, f"must be a number, got {value!r}")
        if not math.isfinite(value):  # Python's json reads NaN and Infinity
            raise fail(key, f"must be a finite number, got {value!r}")
        if value < 0 or (positive and value == 0):
            raise fail(key, f"must be {'> 0' if positive else '>= 0'}, got {value!r}")
        return float(value)

    def integer(key: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise fail(key, f"must be an integer, got {value!r}")
        return value

    def size(key: str, value: Any) -> Decimal:
        try:
            result = Decimal(str(value))
        except InvalidOperation:
            raise fail(key, f"must be a decimal quantity, got {value!r}") from None
        if not result.is_finite() or result <= 0:
            raise fail(key, f"must be > 0, got {value!r}")
        return result

    if "comment" in entry:
        text("comment", entry["comment"])  # free text (where the values come from), else ignored
    symbol = text("symbol", required("symbol")).upper()
    sec_type = text("secType", required("secType")).upper()
    if sec_type not in _SECTYPE_DEFAULTS:
        raise fail("secType", f"{sec_type!r} is not supported ({', '.join(_SECTYPE_DEFAULTS)})")
    values: dict[str, Any] = {**_SECTYPE_DEFAULTS[sec_type], **entry}

    con_id = integer("conId", required("conId"))
    if con_id <= 0:
        raise fail("conId", f"must be > 0, got {con_id}")
    currency = text("currency", required("currency")).upper()
    min_tick = number("minTick", required("minTick"))
    base_price = number("basePrice", required("basePrice"))
    volatility = number("volatility", values.get("volatility", 0.02), positive=False)
    display = values.get("displaySize")
    display_size = None if display is None else size("displaySize", display)
    subscribed = values.get("marketDataSubscription", True)
    if not isinstance(subscribed, bool):
        raise fail("marketDataSubscription", f"must be true or false, got {subscribed!r}")

    strings = {k: text(k, values[k]) for k in _STR_KEYS if k in values}
    ints = {k: integer(k, values[k]) for k in _INT_KEYS if k in values}
    sizes = {k: size(k, values[k]) for k in _SIZE_KEYS if k in values}

    if sec_type == "STK" and currency == "USD":
        strings.setdefault("validExchanges", US_STOCK_EXCHANGES)
    if "validExchanges" not in strings:
        raise fail("validExchanges", "is required for this secType/currency")
    exchanges = [x.strip().upper() for x in strings["validExchanges"].split(",") if x.strip()]
    if not exchanges:
        raise fail("validExchanges", "must list at least one exchange")
    strings["validExchanges"] = ",".join(exchanges)
    exchange = strings.get("exchange") or ("SMART" if "SMART" in exchanges else exchanges[0])
    if exchange.upper() not in exchanges:
        raise fail("exchange", f"{exchange!r} is not among validExchanges")

    for rule_key, ladder in (values.get("marketRules") or {}).items():
        rule_id, rule = _parse_rule(rule_key, ladder, fail)
        if rule_id in rules and rules[rule_id] != rule:
            raise fail("marketRules", f"rule {rule_id} is already defined differently")
        rules[rule_id] = rule
    rule_ids = _parse_rule_ids(
        values.get("marketRuleIds", 26 if sec_type == "STK" and currency == "USD" else None),
        len(exchanges),
        fail,
    )
    unknown_rules = sorted({r for r in rule_ids if r not in rules})
    if unknown_rules:
        raise fail("marketRuleIds", f"no market rule {unknown_rules} (define it in 'marketRules')")

    if sec_type == "FUT":
        for key in ("multiplier", "lastTradeDateOrContractMonth"):
            if not strings.get(key):
                raise fail(key, "is required for a future")
        expiry = strings["lastTradeDateOrContractMonth"]
        if len(expiry) != 8 or not expiry.isdigit():
            raise fail("lastTradeDateOrContractMonth", f"must be YYYYMMDD, got {expiry!r}")
        strings.setdefault("contractMonth", expiry[:6])
        strings.setdefault("realExpirationDate", expiry)

    local_symbol = strings.get("localSymbol") or (
        f"{symbol}.{currency}" if sec_type == "CASH" else symbol
    )
    trading_class = strings.get("tradingClass") or local_symbol
    try:
        ZoneInfo(strings["timeZoneId"])
    except (ZoneInfoNotFoundError, ValueError):
        raise fail("timeZoneId", f"unknown time zone {strings['timeZoneId']!r}") from None
    trading, liquid = _parse_hours(values["hours"], fail)

    contract = Contract()
    contract.conId = con_id
    contract.symbol = symbol
    contract.secType = sec_type
    contract.lastTradeDateOrContractMonth = strings.get("lastTradeDateOrContractMonth", "")
    contract.lastTradeDate = contract.lastTradeDateOrContractMonth
    contract.strike = 0.0
    contract.multiplier = strings.get("multiplier", "")
    contract.exchange = exchange.upper()
    contract.primaryExchange = strings.get("primaryExchange", "").upper()
    contract.currency = currency
    contract.localSymbol = local_symbol
    contract.tradingClass = trading_class

    details = ContractDetails()
    details.contract = contract
    details.marketName = strings.get("marketName") or trading_class
    details.minTick = min_tick
    details.orderTypes = strings["orderTypes"]
    details.validExchanges = strings["validExchanges"]
    details.priceMagnifier = ints.get("priceMagnifier", 1)
    details.underConId = ints.get("underConId", 0)
    details.evMultiplier = ints.get("evMultiplier", 0)
    details.aggGroup = ints.get("aggGroup", 0)
    for key in [
        "longName",
        "contractMonth",
        "industry",
        "category",
        "subcategory",
        "timeZoneId",
        "evRule",
        "underSymbol",
        "underSecType",
        "realExpirationDate",
        "lastTradeTime",
        "stockType",
    ]:
        setattr(details, key, strings.get(key, ""))
    details.marketRuleIds = ",".join(str(r) for r in rule_ids)
    details.minSize = sizes["minSize"]
    details.sizeIncrement = sizes["sizeIncrement"]
    details.suggestedSizeIncrement = sizes["suggestedSizeIncrement"]
    details.secIdList = _parse_sec_ids(values.get("secIdList"), fail)
    return Instrument(details, base_price, volatility, display_size, trading, liquid, subscribed)


def _parse_rule(key: Any, ladder: Any, fail) -> tuple[int, Rule]:
    try:
        rule_id = int(key)
        rule = [(float(low), float(inc)) for low, inc in ladder]
    except (TypeError, ValueError):
        raise fail("marketRules", f"rule {key!r} must be a list of [lowEdge, increment]") from None
    if not rule or any(inc <= 0 or low < 0 for low, inc in rule) or rule[0][0] != 0.0:
        raise fail("marketRules", f"rule {key!r} must start at lowEdge 0 with increments > 0")
    if any(a[0] >= b[0] for a, b in itertools.pairwise(rule)):
        raise fail("marketRules", f"rule {key!r} must have ascending low edges")
    return rule_id, rule


def _parse_rule_ids(value: Any, count: int, fail) -> list[int]:
    if value is None:
        raise fail("marketRuleIds", "is required (one id per valid exchange, or a single id)")
    items: list[int | str]
    if isinstance(value, int) and not isinstance(value, bool):
        items = [value]
    elif isinstance(value, str):
        items = [x.strip() for x in value.split(",") if x.strip()]
    elif isinstance(value, list):
        items = value
    else:
        raise fail("marketRuleIds", f"must be an id, a comma list or a list, got {value!r}")
    try:
        ids = [int(x) for x in items]
    except (TypeError, ValueError):
        raise fail("marketRuleIds", f"must hold integer rule ids, got {value!r}") from None
    if len(ids) == 1:
        ids = ids * count
    if len(ids) != count:
        raise fail("marketRuleIds", f"has {len(ids)} ids for {count} valid exchanges")
    return ids


def _parse_sec_ids(value: Any, fail) -> list[TagValue] | None:
    if value in (None, {}):
        return None
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise fail("secIdList", f'must map id types to ids, e.g. {{"ISIN": "..."}}, got {value!r}')
    return [TagValue(k, v) for k, v in value.items()]


def _parse_hours(value: Any, fail) -> tuple[SessionTemplate, SessionTemplate]:
    if not isinstance(value, Mapping) or "trading" not in value:
        raise fail("hours", f'must be like {{"trading": "0930-1600"}}, got {value!r}')
    extra = set(value) - {"trading", "liquid", "overnight", "calendar"}
    if extra:
        raise fail("hours", f"unknown field {sorted(extra)[0]!r}")
    overnight = value.get("overnight", False)
    calendar = value.get("calendar", "XNYS")
    try:
        trading = SessionTemplate.parse(value["trading"], bool(overnight), calendar)
        liquid_text = value.get("liquid", value["trading"])
        # A liquid window inside one calendar day is a day session even for overnight products.
        start, end = liquid_text.split("-")
        liquid = SessionTemplate.parse(liquid_text, overnight and start >= end, calendar)
    except (ValueError, AttributeError, TypeError) as exc:
        raise fail("hours", str(exc)) from None
    return trading, liquid
