"""The simulator's protobuf codec against the installed ibapi, both directions.

OUT: every message kind is encoded with ``encode_proto`` and decoded by ibapi's own
``Decoder.processProtoBuf``; the wrapper callback must receive exactly the state that was encoded,
and the same state as the text form decoded at a text version (``text.encode_text`` at 200, and
real TWS captures at the versions they were taken).

IN: a real ``EClient`` talks over a real socket at 203, 213 and 225; every frame it writes as
protobuf is decoded with ``decode_proto_request`` and compared attribute by attribute with what
the test passed to the client.
"""

from __future__ import annotations

import contextlib
import copy
import json
import socket
import threading
from decimal import Decimal
from enum import Enum

import pytest
from capture_client import ACCOUNT, CaptureSession
from ibapi import comm
from ibapi.client import EClient
from ibapi.commission_and_fees_report import CommissionAndFeesReport
from ibapi.common import PROTOBUF_MSG_IDS, PriceIncrement
from ibapi.const import UNSET_DECIMAL, UNSET_DOUBLE
from ibapi.contract import ComboLeg, Contract, ContractDetails, FundAssetType
from ibapi.decoder import Decoder
from ibapi.execution import Execution, ExecutionFilter
from ibapi.message import IN, OUT
from ibapi.order import Order, OrderComboLeg
from ibapi.order_cancel import OrderCancel
from ibapi.order_condition import Create, OrderCondition
from ibapi.order_state import OrderAllocation, OrderState
from ibapi.protobuf.CommissionAndFeesReport_pb2 import CommissionAndFeesReport as ReportProto
from ibapi.server_versions import MAX_CLIENT_VER
from ibapi.softdollartier import SoftDollarTier
from ibapi.tag_value import TagValue
from ibapi.wrapper import EWrapper
from test_sim_fa_codec import FA_CALLBACKS, FA_EXAMPLES, FA_KINDS, FA_REPLY_TO, fa_call
from test_sim_history_codec import (
    HISTORY_CALLBACKS,
    HISTORY_EXAMPLES,
    HISTORY_KINDS,
    HISTORY_REPLY_TO,
    history_calls,
)
from test_sim_market_codec import MARKET_CALLBACKS, MARKET_EXAMPLES, MARKET_KINDS, market_calls
from test_sim_pnl import PNL_EXAMPLES

from twsapp.sim import messages as m
from twsapp.sim.proto import decode_proto_request, encode_proto, proto_kind_version
from twsapp.sim.text import encode_text, supported_messages
from twsapp.sim.wire import (
    API_PREFIX,
    FrameReader,
    ProtocolError,
    frame,
    split_payload,
    text_payload,
)

OUT_VERSIONS = [201, 203, 204, 205, 207, 210, 213, 220, 225]
IN_VERSIONS = [203, 213, MAX_CLIENT_VER]
TEXT_VERSION = 200
from captures import CAPTURES_PATH as CAPTURES  # noqa: E402

# --------------------------------------------------------------------------- recording wrapper

CALLBACKS = [
    "openOrder",
    "openOrderEnd",
    "orderStatus",
    "execDetails",
    "execDetailsEnd",
    "error",
    "completedOrder",
    "completedOrdersEnd",
    "contractDetails",
    "contractDetailsEnd",
    "marketRule",
    "position",
    "positionEnd",
    "accountSummary",
    "accountSummaryEnd",
    "updateAccountValue",
    "updatePortfolio",
    "updateAccountTime",
    "accountDownloadEnd",
    "managedAccounts",
    "nextValidId",
    "currentTime",
    "currentTimeInMillis",
    "commissionAndFeesReport",
    "pnl",
    "pnlSingle",
]


class Recorder(EWrapper):
    """Keeps every ordinary callback with its positional arguments."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, tuple]] = []


def _recording(name: str):
    def method(self, *args):
        self.calls.append((name, args))

    return method


for _name in (*CALLBACKS, *MARKET_CALLBACKS, *HISTORY_CALLBACKS, *FA_CALLBACKS):
    setattr(Recorder, _name, _recording(_name))


def decode_proto(version: int, payload: bytes) -> list[tuple[str, tuple]]:
    msg_id, is_protobuf, body = split_payload(version, payload)
    assert is_protobuf, "encode_proto must produce a protobuf frame"
    recorder = Recorder()
    Decoder(recorder, version).processProtoBuf(body, msg_id)
    return recorder.calls


def decode_text(version: int, payload: bytes) -> list[tuple[str, tuple]]:
    msg_id, is_protobuf, body = split_payload(version, payload)
    assert not is_protobuf
    recorder = Recorder()
    Decoder(recorder, version).interpret(comm.read_fields(body), msg_id)
    return recorder.calls


# --------------------------------------------------------------------------- comparison


def differences(left, right, path="", tolerate_defaults=False) -> list[str]:
    """Attribute-by-attribute differences between two decoded values ([] when equal).

    ``tolerate_defaults`` accepts a difference where one side holds the class default: the field
    is carried by only one of the two forms being compared.
    """
    if isinstance(left, list | tuple) or isinstance(right, list | tuple):
        left, right = list(left or []), list(right or [])  # ibapi uses None and [] alike
        if len(left) != len(right):
            return [f"{path}: {len(left)} items vs {len(right)}"]
        out = []
        for index, (a, b) in enumerate(zip(left, right, strict=True)):
            out += differences(a, b, f"{path}[{index}]", tolerate_defaults)
        return out
    if _is_record(left) and _is_record(right):
        if type(left) is not type(right):
            return [f"{path}: {type(left).__name__} vs {type(right).__name__}"]
        fresh = _fresh(type(left))
        out = []
        for key in sorted(set(vars(left)) | set(vars(right))):
            a, b = getattr(left, key, None), getattr(right, key, None)
            found = differences(a, b, f"{path}.{key}", tolerate_defaults)
            if found and tolerate_defaults and fresh is not None:
                default = getattr(fresh, key, None)
                if _unset_like(a, default) or _unset_like(b, default):
                    continue
            out += found
        return out
    if left is None and right is None:
        return []
    if left != right:
        return [f"{path}: {left!r} != {right!r}"]
    return []


def _is_record(value) -> bool:
    return hasattr(value, "__dict__") and not isinstance(value, Enum | type)


def _fresh(cls):
    try:
        return cls()
    except TypeError:
        return None


def _unset_like(value, default) -> bool:
    """The class default, or one of ibapi's unset spellings (text carries them as strings)."""
    if value == default or (value in (None, "", []) and default in (None, "", [])):
        return True
    return value in (UNSET_DOUBLE, UNSET_DECIMAL, "1.7976931348623157E308", "2147483647")


def assert_same(left, right, tolerate_defaults=False) -> None:
    found = differences(left, right, tolerate_defaults=tolerate_defaults)
    assert not found, "\n".join(found)


# --------------------------------------------------------------------------- sample state


def stock(symbol="AAPL", con_id=265598) -> Contract:
    c = Contract()
    c.conId, c.symbol, c.secType = con_id, symbol, "STK"
    c.exchange, c.primaryExchange, c.currency = "SMART", "NASDAQ", "USD"
    c.localSymbol, c.tradingClass, c.strike = symbol, "NMS", 0.0
    return c


def future(last_trade_date: str = "20250919") -> Contract:
    c = Contract()
    c.conId, c.symbol, c.secType = 637533641, "ES", "FUT"
    c.lastTradeDateOrContractMonth, c.lastTradeDate = "20250919", last_trade_date
    c.multiplier, c.exchange, c.currency = "50", "CME", "USD"
    c.localSymbol, c.tradingClass, c.strike = "ESU5", "ES", 0.0
    return c


def combo() -> Contract:
    c = Contract()
    c.symbol, c.secType, c.exchange, c.currency = "AAPL,MSFT", "BAG", "SMART", "USD"
    c.comboLegsDescrip = "265598|1,272093|-1"
    for con_id, action in ((265598, "BUY"), (272093, "SELL")):
        leg = ComboLeg()
        leg.conId, leg.ratio, leg.action, leg.exchange = con_id, 1, action, "SMART"
        c.comboLegs.append(leg)
    return c


def rich_order() -> Order:
    o = Order()
    o.orderId, o.clientId, o.permId = 42, 7, 1376327563
    o.action, o.orderType, o.totalQuantity = "BUY", "LMT", Decimal("100")
    o.lmtPrice, o.tif, o.account = 187.25, "GTC", ACCOUNT
    o.ocaGroup, o.ocaType, o.orderRef = "OCA_7", 1, "strategy:7"
    o.outsideRth, o.goodTillDate, o.triggerMethod = True, "20251231 16:00:00 US/Eastern", 2
    o.algoStrategy, o.algoParams = "Adaptive", [TagValue("adaptivePriority", "Normal")]
    o.smartComboRoutingParams = [TagValue("NonGuaranteed", "1")]
    condition = Create(OrderCondition.Price)
    condition.conId, condition.exchange, condition.isMore = 265598, "SMART", True
    condition.price, condition.triggerMethod = 190.5, 0
    o.conditions, o.conditionsIgnoreRth = [condition], True
    o.softDollarTier = SoftDollarTier("tier", "1", "Tier one")
    o.usePriceMgmtAlgo, o.filledQuantity, o.parentPermId = True, Decimal("40"), 99
    o.hedgeType, o.hedgeParam, o.dontUseAutoPriceForHedge = "B", "beta=1", True
    o.volatility, o.cashQty, o.autoCancelDate = 0.35, 18725.0, "20251231"
    return o


def bracket_child() -> Order:
    o = Order()
    o.orderId, o.clientId, o.permId, o.parentId = 44, 7, 1376327565, 43
    o.action, o.orderType, o.totalQuantity = "SELL", "STP", Decimal("100")
    o.auxPrice, o.tif, o.account = 180.0, "DAY", ACCOUNT
    return o


def combo_order() -> Order:
    o = Order()
    o.orderId, o.clientId, o.action, o.orderType = 45, 7, "BUY", "LMT"
    o.totalQuantity, o.lmtPrice = Decimal("1"), 2.5
    o.orderComboLegs = [OrderComboLeg(), OrderComboLeg()]
    o.orderComboLegs[0].price, o.orderComboLegs[1].price = 190.0, 410.0
    return o


def completed_order() -> Order:
    """As TWS reports a completed order: by permId, without the API's order/client/parent ids."""
    o = bracket_child()
    o.orderId = o.clientId = o.parentId = 0
    o.parentPermId = 1376327564
    return o


def submitted_state(status="Submitted") -> OrderState:
    s = OrderState()
    s.status, s.commissionAndFeesCurrency = status, "USD"
    return s


def what_if_state() -> OrderState:
    s = submitted_state("PreSubmitted")
    s.initMarginBefore, s.initMarginChange, s.initMarginAfter = "1000.5", "9362.5", "10363.0"
    s.commissionAndFees, s.minCommissionAndFees, s.maxCommissionAndFees = 1.0, 0.5, 1.5
    s.marginCurrency, s.warningText, s.suggestedSize = "USD", "check margin", Decimal("50")
    allocation = OrderAllocation()
    allocation.account, allocation.position, allocation.isMonetary = ACCOUNT, Decimal("10"), True
    s.orderAllocations = [allocation]
    return s


def completed_state() -> OrderState:
    s = submitted_state("Cancelled")
    s.completedTime, s.completedStatus = "20250323 16:00:01 US/Eastern", "Cancelled by Trader"
    return s


def execution() -> Execution:
    e = Execution()
    e.execId, e.time, e.acctNumber = "0000e215.656d0000.01.01", "20250323 14:30:01", ACCOUNT
    e.exchange, e.side, e.shares, e.price = "ISLAND", "BOT", Decimal("100"), 187.25
    e.permId, e.clientId, e.orderId, e.liquidation = 1376327563, 7, 42, 1
    e.cumQty, e.avgPrice, e.orderRef, e.lastLiquidity = Decimal("100"), 187.25, "strategy:7", 2
    e.evRule, e.evMultiplier, e.pendingPriceRevision = "aapl", 1.0, True
    return e


def stock_details() -> ContractDetails:
    d = ContractDetails()
    d.contract = stock()
    d.marketName, d.minTick, d.orderTypes = "NMS", 0.01, "ACTIVETIM,AD,ADJUST,ALERT,LMT,MKT,STP"
    d.validExchanges, d.priceMagnifier, d.longName = "SMART,AMEX,NYSE,ISLAND", 1, "APPLE INC"
    d.industry, d.category, d.subcategory = "Technology", "Computers", "Computers"
    d.timeZoneId, d.tradingHours = "US/Eastern", "20250324:0400-20250324:2000"
    d.liquidHours, d.aggGroup, d.marketRuleIds = "20250324:0930-20250324:1600", 1, "26,26,26"
    d.stockType, d.minSize, d.sizeIncrement = "COMMON", Decimal("0.0001"), Decimal("0.0001")
    d.suggestedSizeIncrement, d.secIdList = Decimal("100"), [TagValue("ISIN", "US0378331005")]
    d.lastPricePrecision = Decimal("0.01")
    return d


def future_details() -> ContractDetails:
    d = ContractDetails()
    d.contract = future()
    d.marketName, d.minTick, d.contractMonth = "ES", 0.25, "202509"
    d.timeZoneId, d.lastTradeTime, d.realExpirationDate = "US/Central", "08:30:00", "20250919"
    d.underConId, d.underSymbol, d.underSecType = 11004968, "ES", "IND"
    d.evMultiplier, d.aggGroup, d.marketRuleIds = 0, 2, "67"
    return d


def fund_details() -> ContractDetails:
    d = ContractDetails()
    d.contract = stock("VFIAX", 12345)
    d.contract.secType = "FUND"
    d.fundName, d.fundFamily, d.fundClosed = "500 Index", "Vanguard", True
    d.fundAssetType = FundAssetType.Equity
    return d


def commission(realized=UNSET_DOUBLE, redemption=0) -> CommissionAndFeesReport:
    r = CommissionAndFeesReport()
    r.execId, r.commissionAndFees, r.currency = "0000e215.656d0000.01.01", 1.0, "USD"
    r.realizedPNL, r.yield_, r.yieldRedemptionDate = realized, realized, redemption
    return r


def samples() -> list[m.Message]:
    return [
        m.ManagedAccounts([ACCOUNT, "DU7654321"]),
        m.NextValidId(42),
        m.CurrentTime(1752606307),
        m.CurrentTimeInMillis(1752606307123),
        m.ErrorMsg(42, 202, "Order Canceled - reason:", "", 1752606307123),
        m.ErrorMsg(-1, 2104, "Market data farm connection is OK:usfarm", "", 1752606307000),
        m.ErrorMsg(43, 201, "Order rejected", '{"code":"X"}', 1752606307001),
        m.ContractData(9001, stock_details()),
        m.ContractData(9002, future_details()),
        m.ContractData(9003, fund_details()),
        m.ContractDataEnd(9001),
        m.MarketRule(26, [(0.0, 0.01), (1000.0, 0.05)]),
        m.OpenOrder(42, stock(), rich_order(), submitted_state()),
        m.OpenOrder(44, stock(), bracket_child(), what_if_state()),
        m.OpenOrder(45, combo(), combo_order(), submitted_state("PreSubmitted")),
        m.OpenOrderEnd(),
        m.OrderStatus(42, "Filled", Decimal("100"), Decimal("0"), 187.25, 1376327563, 0, 187.25, 7),
        m.OrderStatus(
            44,
            "PreSubmitted",
            Decimal("0"),
            Decimal("100"),
            0.0,
            1376327565,
            43,
            0.0,
            7,
            "locate",
            0.0,
        ),
        m.ExecDetails(-1, stock(), execution()),
        m.ExecDetails(7001, future(), execution()),
        m.ExecDetailsEnd(7001),
        m.CommissionReport(commission(realized=12.5, redemption=20300115)),
        m.CompletedOrder(future(), completed_order(), completed_state()),
        m.CompletedOrdersEnd(),
        m.Position(ACCOUNT, stock(), Decimal("-110"), 201.8829709),
        m.Position(ACCOUNT, future(), Decimal("0.5"), 315114.75),
        m.PositionEnd(),
        m.AccountSummary(9000, ACCOUNT, "NetLiquidation", "246447.83", "USD"),
        m.AccountSummaryEnd(9000),
        m.AccountValue("NetLiquidation", "246447.83", "USD", ACCOUNT),
        m.PortfolioValue(stock(), Decimal("100"), 190.0, 19000.0, 187.25, 275.0, 0.0, ACCOUNT),
        m.AccountUpdateTime("14:31"),
        m.AccountDownloadEnd(ACCOUNT),
        *MARKET_EXAMPLES,
        *HISTORY_EXAMPLES,
        *PNL_EXAMPLES,
        *FA_EXAMPLES,
    ]


def sample_id(msg: m.Message) -> str:
    return type(msg).__name__


def expected_calls(msg: m.Message) -> list[tuple[str, tuple]]:
    """Every callback ``msg`` must produce as protobuf (a bid's tickPrice brings a tickSize)."""
    if isinstance(msg, MARKET_KINDS):
        return market_calls(MAX_CLIENT_VER, msg, protobuf=True)
    if isinstance(msg, HISTORY_KINDS):
        return history_calls(MAX_CLIENT_VER, msg, protobuf=True)
    if isinstance(msg, FA_KINDS):
        return [fa_call(msg)]
    return [expected_call(msg)]


def expected_call(msg: m.Message) -> tuple[str, tuple]:
    """The ordinary wrapper callback (and its arguments) that ``msg`` must produce."""
    match msg:
        case m.ManagedAccounts():
            return "managedAccounts", (",".join(msg.accounts),)
        case m.NextValidId():
            return "nextValidId", (msg.order_id,)
        case m.CurrentTime():
            return "currentTime", (msg.seconds,)
        case m.CurrentTimeInMillis():
            return "currentTimeInMillis", (msg.millis,)
        case m.ErrorMsg():
            args = (msg.req_id, msg.error_time_ms, msg.code, msg.text)
            return "error", (*args, msg.advanced_order_reject_json)
        case m.ContractData():
            return "contractDetails", (msg.req_id, msg.details)
        case m.ContractDataEnd():
            return "contractDetailsEnd", (msg.req_id,)
        case m.MarketRule():
            return "marketRule", (msg.market_rule_id, [_increment(*i) for i in msg.increments])
        case m.OpenOrder():
            return "openOrder", (msg.order_id, msg.contract, msg.order, msg.state)
        case m.OpenOrderEnd():
            return "openOrderEnd", ()
        case m.OrderStatus():
            return "orderStatus", (
                msg.order_id, msg.status, msg.filled, msg.remaining, msg.avg_fill_price,
                msg.perm_id, msg.parent_id, msg.last_fill_price, msg.client_id, msg.why_held,
                msg.mkt_cap_price,
            )  # fmt: skip
        case m.ExecDetails():
            return "execDetails", (msg.req_id, msg.contract, msg.execution)
        case m.ExecDetailsEnd():
            return "execDetailsEnd", (msg.req_id,)
        case m.CommissionReport():
            return "commissionAndFeesReport", (msg.report,)
        case m.CompletedOrder():
            return "completedOrder", (msg.contract, msg.order, msg.state)
        case m.CompletedOrdersEnd():
            return "completedOrdersEnd", ()
        case m.Position():
            return "position", (msg.account, msg.contract, msg.position, msg.avg_cost)
        case m.PositionEnd():
            return "positionEnd", ()
        case m.AccountSummary():
            return "accountSummary", (msg.req_id, msg.account, msg.tag, msg.value, msg.currency)
        case m.AccountSummaryEnd():
            return "accountSummaryEnd", (msg.req_id,)
        case m.AccountValue():
            return "updateAccountValue", (msg.key, msg.value, msg.currency, msg.account)
        case m.PortfolioValue():
            # the listing exchange travels as the exchange (a Gateway's at 225, proto.py)
            contract = copy.copy(msg.contract)
            contract.exchange = contract.primaryExchange or contract.exchange
            contract.primaryExchange = ""
            return "updatePortfolio", (
                contract, msg.position, msg.market_price, msg.market_value, msg.average_cost,
                msg.unrealized_pnl, msg.realized_pnl, msg.account,
            )  # fmt: skip
        case m.AccountUpdateTime():
            return "updateAccountTime", (msg.time_stamp,)
        case m.AccountDownloadEnd():
            return "accountDownloadEnd", (msg.account,)
        case m.PnL() | m.PnLSingle():  # the fields are in the callback's order
            return ("pnl" if isinstance(msg, m.PnL) else "pnlSingle"), tuple(vars(msg).values())
    raise AssertionError(f"no expectation for {type(msg).__name__}")


def _increment(low_edge: float, increment: float) -> PriceIncrement:
    item = PriceIncrement()
    item.lowEdge, item.increment = low_edge, increment
    return item


SAMPLES = samples()
ALL_KINDS = sorted(
    {cls for cls in vars(m).values() if isinstance(cls, type) and issubclass(cls, m.Message)}
    - {m.Message},
    key=lambda cls: cls.__name__,
)

# --------------------------------------------------------------------------- kind -> version


def test_every_message_kind_has_a_protobuf_form_and_a_sample():
    """ibapi 10.46 decodes every kind the simulator sends as protobuf; each one is exercised."""
    assert [k for k in ALL_KINDS if proto_kind_version(k) is None] == []
    assert {type(s) for s in SAMPLES} == set(ALL_KINDS)


# A reply travels in the generation of the request that asks for it (EClient's own table).
REPLY_TO = {
    m.ExecDetails: OUT.REQ_EXECUTIONS,
    m.ExecDetailsEnd: OUT.REQ_EXECUTIONS,
    m.OpenOrder: OUT.PLACE_ORDER,
    m.OrderStatus: OUT.PLACE_ORDER,
    m.CompletedOrder: OUT.REQ_COMPLETED_ORDERS,
    m.CompletedOrdersEnd: OUT.REQ_COMPLETED_ORDERS,
    m.ContractData: OUT.REQ_CONTRACT_DATA,
    m.ContractDataEnd: OUT.REQ_CONTRACT_DATA,
    m.MarketRule: OUT.REQ_MARKET_RULE,
    m.ManagedAccounts: OUT.REQ_MANAGED_ACCTS,
    m.Position: OUT.REQ_POSITIONS,
    m.PositionEnd: OUT.REQ_POSITIONS,
    m.AccountSummary: OUT.REQ_ACCOUNT_SUMMARY,
    m.AccountSummaryEnd: OUT.REQ_ACCOUNT_SUMMARY,
    m.AccountValue: OUT.REQ_ACCT_DATA,
    m.PortfolioValue: OUT.REQ_ACCT_DATA,
    m.AccountUpdateTime: OUT.REQ_ACCT_DATA,
    m.AccountDownloadEnd: OUT.REQ_ACCT_DATA,
    m.NextValidId: OUT.REQ_IDS,
    m.CurrentTime: OUT.REQ_CURRENT_TIME,
    m.CurrentTimeInMillis: OUT.REQ_CURRENT_TIME_IN_MILLIS,
    m.TickPrice: OUT.REQ_MKT_DATA,
    m.TickSize: OUT.REQ_MKT_DATA,
    m.TickString: OUT.REQ_MKT_DATA,
    m.TickGeneric: OUT.REQ_MKT_DATA,
    m.TickReqParams: OUT.REQ_MKT_DATA,
    m.MarketDataType: OUT.REQ_MKT_DATA,
    m.TickSnapshotEnd: OUT.REQ_MKT_DATA,
    m.RealTimeBar: OUT.REQ_REAL_TIME_BARS,
    m.TickByTickLast: OUT.REQ_TICK_BY_TICK_DATA,
    m.TickByTickBidAsk: OUT.REQ_TICK_BY_TICK_DATA,
    m.TickByTickMidPoint: OUT.REQ_TICK_BY_TICK_DATA,
    **HISTORY_REPLY_TO,
    m.PnL: OUT.REQ_PNL,
    m.PnLSingle: OUT.REQ_PNL_SINGLE,
    **FA_REPLY_TO,
}


@pytest.mark.parametrize(
    "kind", sorted(REPLY_TO, key=lambda k: k.__name__), ids=lambda k: k.__name__
)
def test_reply_moves_with_its_request(kind):
    assert proto_kind_version(kind) == PROTOBUF_MSG_IDS[REPLY_TO[kind]]


def test_nothing_is_protobuf_below_201_or_for_unknown_kinds():
    assert all(proto_kind_version(k) >= 201 for k in ALL_KINDS)
    assert proto_kind_version(m.Message) is None
    assert all(encode_proto(200, s) is None for s in SAMPLES)


def test_kinds_an_ibapi_10_37_client_cannot_decode_stay_text_up_to_203():
    """ibapi 10.37 (MAX_CLIENT_VER 203) decodes only these six as protobuf."""
    at_203 = {k for k in ALL_KINDS if proto_kind_version(k) <= 203}
    assert at_203 == {m.OrderStatus, m.ErrorMsg, m.OpenOrder, m.ExecDetails, m.OpenOrderEnd,
                      m.ExecDetailsEnd}  # fmt: skip


# --------------------------------------------------------------------------- round trip OUT


@pytest.mark.parametrize("version", OUT_VERSIONS)
@pytest.mark.parametrize("msg", SAMPLES, ids=sample_id)
def test_protobuf_decodes_to_the_encoded_state(msg, version):
    payload = encode_proto(version, msg)
    if version < proto_kind_version(type(msg)):
        assert payload is None, "TWS still sends this kind as text at this version"
        return
    assert payload is not None
    calls = decode_proto(version, payload)
    expected = expected_calls(msg)
    assert [call[0] for call in calls] == [name for name, _ in expected]
    for (_, args), (_, want) in zip(calls, expected, strict=True):
        assert_same(args, want)


@pytest.mark.parametrize("msg", SAMPLES, ids=sample_id)
def test_protobuf_agrees_with_the_text_form(msg):
    """Issue 4: the same state decodes to the same callback arguments from text (at 200) and
    from protobuf, on every field both forms carry."""
    assert type(msg) in supported_messages(), f"no text form of {type(msg).__name__}"
    text_calls = decode_text(TEXT_VERSION, encode_text(TEXT_VERSION, msg))
    proto_calls = decode_proto(MAX_CLIENT_VER, encode_proto(MAX_CLIENT_VER, msg))
    assert [c[0] for c in proto_calls] == [c[0] for c in text_calls]
    for proto_call, text_call in zip(proto_calls, text_calls, strict=True):
        assert_same(proto_call[1], text_call[1], tolerate_defaults=True)


def test_unset_markers_are_left_out_of_the_proto():
    """IB's own encoders leave unset values out; ibapi then reads its defaults."""
    msg = m.CommissionReport(commission())  # realizedPNL / yield unset, as TWS sends them
    body = split_payload(213, encode_proto(213, msg))[2]
    proto = ReportProto()
    proto.ParseFromString(body)
    assert proto.HasField("commissionAndFees") and not proto.HasField("realizedPNL")
    assert not proto.HasField("bondYield") and not proto.HasField("yieldRedemptionDate")
    order_msg = m.OpenOrder(44, stock(), bracket_child(), submitted_state())
    (_name, args), = decode_proto(213, encode_proto(213, order_msg))  # fmt: skip
    assert args[2].lmtPrice == UNSET_DOUBLE and args[2].minQty == Order().minQty


def test_protobuf_completed_orders_carry_the_api_ids():
    """Real TWS at 225 sends clientId, orderId and parentId in completedOrder (a paper Gateway
    capture shows e.g. client 95, order 2, parent 0): a restarted client can tell its own
    cancelled orders by id. The text form has no such fields."""
    msg = m.CompletedOrder(future(), bracket_child(), completed_state())
    (name, (_contract, order, _state)), = decode_proto(213, encode_proto(213, msg))  # fmt: skip
    assert name == "completedOrder"
    child = bracket_child()
    assert (order.orderId, order.clientId, order.parentId) == (
        child.orderId,
        child.clientId,
        child.parentId,
    )
    assert order.permId == child.permId


# --------------------------------------------------------------------------- real TWS captures


def _captures() -> list[dict]:
    return json.loads(CAPTURES.read_text())["captures"]


def _decodable_version(capture: dict) -> int:
    low, _, high = capture["ibapi_decodes_every_field_at"].partition("..")
    version = capture["server_version"]
    return version if int(low) <= version <= int(high or low) else int(high or low)


def message_from_call(name: str, args: tuple) -> m.Message | None:
    """The simulator message holding the state a text capture decoded to."""
    builders = {
        "openOrder": lambda a: m.OpenOrder(a[0], a[1], a[2], a[3]),
        "orderStatus": lambda a: m.OrderStatus(*a),
        "execDetails": lambda a: m.ExecDetails(*a),
        "commissionAndFeesReport": lambda a: m.CommissionReport(a[0]),
        "error": lambda a: m.ErrorMsg(a[0], a[2], a[3], a[4], a[1]),
        "contractDetails": lambda a: m.ContractData(*a),
        "completedOrder": lambda a: m.CompletedOrder(*a),
        "nextValidId": lambda a: m.NextValidId(int(a[0])),
        "managedAccounts": lambda a: m.ManagedAccounts(a[0].split(",")),
        "position": lambda a: m.Position(*a),
        "positionEnd": lambda a: m.PositionEnd(),
        "accountSummary": lambda a: m.AccountSummary(int(a[0]), *a[1:]),
        "accountSummaryEnd": lambda a: m.AccountSummaryEnd(int(a[0])),
        "currentTime": lambda a: m.CurrentTime(int(a[0])),
    }
    return builders[name](args) if name in builders else None


@pytest.mark.parametrize("capture", _captures(), ids=lambda c: c["name"])
def test_protobuf_carries_what_real_tws_sent_as_text(capture):
    """Real TWS text, decoded by ibapi, rebuilt as protobuf: the same callback arguments."""
    version = _decodable_version(capture)
    fields = [f.encode() for f in capture["fields"]]
    recorder = Recorder()
    Decoder(recorder, version).interpret(tuple(fields[1:]), int(fields[0]))
    assert len(recorder.calls) == 1, recorder.calls
    name, args = recorder.calls[0]
    msg = message_from_call(name, args)
    assert msg is not None, f"no simulator message for {name}"
    calls = decode_proto(MAX_CLIENT_VER, encode_proto(MAX_CLIENT_VER, msg))
    assert [c[0] for c in calls] == [name]
    assert_same(calls[0][1], args, tolerate_defaults=True)


# --------------------------------------------------------------------------- round trip IN


def mkt_order() -> Order:
    o = Order()
    o.action, o.orderType, o.totalQuantity = "BUY", "MKT", Decimal("100")
    return o


def lmt_gtc_order() -> Order:
    o = Order()
    o.action, o.orderType, o.totalQuantity, o.lmtPrice = "SELL", "LMT", Decimal("25"), 191.37
    o.tif, o.account, o.orderRef, o.outsideRth = "GTC", ACCOUNT, "strategy:rsi", True
    return o


def bracket(parent_id: int) -> tuple[Order, Order]:
    parent = Order()
    parent.action, parent.orderType, parent.totalQuantity = "BUY", "LMT", Decimal("10")
    parent.lmtPrice, parent.account, parent.transmit = 187.0, ACCOUNT, False
    stop = Order()
    stop.action, stop.orderType, stop.totalQuantity = "SELL", "STP", Decimal("10")
    stop.auxPrice, stop.account, stop.parentId, stop.transmit = 180.5, ACCOUNT, parent_id, True
    return parent, stop


def oca_order() -> Order:
    o = Order()
    o.action, o.orderType, o.totalQuantity, o.lmtPrice = "BUY", "LMT", Decimal("1"), 5100.25
    o.ocaGroup, o.ocaType, o.tif, o.account = "OCA_ES", 1, "GTC", ACCOUNT
    o.algoStrategy, o.algoParams = "Adaptive", [TagValue("adaptivePriority", "Patient")]
    condition = Create(OrderCondition.Time)
    condition.isMore, condition.time = True, "20250324 09:35:00 US/Eastern"
    o.conditions = [condition]
    return o


def request_plan(version: int):
    """(description, EClient call, OUT id, expected Request) for every request under test."""
    orders = [(101, stock(), mkt_order()), (102, stock(), lmt_gtc_order())]
    parent, stop = bracket(103)
    orders += [
        (103, stock(), parent),
        (104, stock(), stop),
        (105, future(last_trade_date=""), oca_order()),
    ]
    combo_lmt = combo_order()
    combo_lmt.orderComboLegs[1].price = UNSET_DOUBLE  # only one leg priced
    orders.append((106, combo(), combo_lmt))
    plan = []
    for order_id, contract, order in orders:
        order.orderId = order_id  # TWS keeps the id on the order it stores
        plan.append((
            f"placeOrder {order_id}",
            lambda c, i=order_id, k=contract, o=order: c.placeOrder(i, k, o),
            OUT.PLACE_ORDER,
            m.PlaceOrder(order_id, contract, order),
        ))  # fmt: skip
    cancel = OrderCancel()
    cancel.manualOrderCancelTime = "20250324 09:31:00"
    exec_filter = ExecutionFilter()
    exec_filter.clientId, exec_filter.acctCode, exec_filter.symbol = 7, ACCOUNT, "AAPL"
    exec_filter.secType, exec_filter.exchange, exec_filter.side = "STK", "SMART", "BUY"
    exec_filter.time, exec_filter.lastNDays = "20250323 09:30:00", 3
    exec_filter.specificDates = [20250320, 20250321]
    lookup = Contract()
    lookup.symbol, lookup.secType, lookup.exchange, lookup.currency = "ES", "FUT", "CME", "USD"
    lookup.lastTradeDateOrContractMonth, lookup.includeExpired = "202509", True
    plan += [
        ("cancelOrder", lambda c: c.cancelOrder(102, cancel), OUT.CANCEL_ORDER,
         m.CancelOrder(102, cancel)),
        ("reqGlobalCancel", lambda c: c.reqGlobalCancel(OrderCancel()), OUT.REQ_GLOBAL_CANCEL,
         m.ReqGlobalCancel(OrderCancel())),
        ("reqExecutions", lambda c: c.reqExecutions(7001, exec_filter), OUT.REQ_EXECUTIONS,
         m.ReqExecutions(7001, exec_filter)),
        ("reqContractDetails", lambda c: c.reqContractDetails(9001, lookup),
         OUT.REQ_CONTRACT_DATA, m.ReqContractDetails(9001, lookup)),
        ("reqMarketRule", lambda c: c.reqMarketRule(26), OUT.REQ_MARKET_RULE, m.ReqMarketRule(26)),
        ("reqOpenOrders", lambda c: c.reqOpenOrders(), OUT.REQ_OPEN_ORDERS, m.ReqOpenOrders()),
        ("reqAllOpenOrders", lambda c: c.reqAllOpenOrders(), OUT.REQ_ALL_OPEN_ORDERS,
         m.ReqAllOpenOrders()),
        ("reqAutoOpenOrders", lambda c: c.reqAutoOpenOrders(True), OUT.REQ_AUTO_OPEN_ORDERS,
         m.ReqAutoOpenOrders(True)),
        ("reqCompletedOrders", lambda c: c.reqCompletedOrders(True), OUT.REQ_COMPLETED_ORDERS,
         m.ReqCompletedOrders(True)),
        ("reqPositions", lambda c: c.reqPositions(), OUT.REQ_POSITIONS, m.ReqPositions()),
        ("cancelPositions", lambda c: c.cancelPositions(), OUT.CANCEL_POSITIONS,
         m.CancelPositions()),
        ("reqAccountSummary", lambda c: c.reqAccountSummary(9000, "All", "NetLiquidation,BuyingPower"),
         OUT.REQ_ACCOUNT_SUMMARY, m.ReqAccountSummary(9000, "All", "NetLiquidation,BuyingPower")),
        ("cancelAccountSummary", lambda c: c.cancelAccountSummary(9000),
         OUT.CANCEL_ACCOUNT_SUMMARY, m.CancelAccountSummary(9000)),
        ("reqAccountUpdates", lambda c: c.reqAccountUpdates(True, ACCOUNT), OUT.REQ_ACCT_DATA,
         m.ReqAccountUpdates(True, ACCOUNT)),
        ("reqManagedAccts", lambda c: c.reqManagedAccts(), OUT.REQ_MANAGED_ACCTS,
         m.ReqManagedAccts()),
        ("reqIds", lambda c: c.reqIds(-1), OUT.REQ_IDS, m.ReqIds(-1)),
        ("reqCurrentTime", lambda c: c.reqCurrentTime(), OUT.REQ_CURRENT_TIME,
         m.ReqCurrentTime()),
        ("reqCurrentTimeInMillis", lambda c: c.reqCurrentTimeInMillis(),
         OUT.REQ_CURRENT_TIME_IN_MILLIS, m.ReqCurrentTimeInMillis()),
        ("reqMarketDataType", lambda c: c.reqMarketDataType(4), OUT.REQ_MARKET_DATA_TYPE,
         m.ReqMarketDataType(4)),
        ("reqMktData", lambda c: c.reqMktData(5001, stock(), "233,mdoff", True, False, []),
         OUT.REQ_MKT_DATA, m.ReqMktData(5001, stock(), "233,mdoff", True, False)),
        ("cancelMktData", lambda c: c.cancelMktData(5001), OUT.CANCEL_MKT_DATA,
         m.CancelMktData(5001)),
        ("reqTickByTickData", lambda c: c.reqTickByTickData(5002, stock(), "BidAsk", 0, True),
         OUT.REQ_TICK_BY_TICK_DATA, m.ReqTickByTickData(5002, stock(), "BidAsk", 0, True)),
        ("cancelTickByTickData", lambda c: c.cancelTickByTickData(5002),
         OUT.CANCEL_TICK_BY_TICK_DATA, m.CancelTickByTickData(5002)),
        ("reqRealTimeBars", lambda c: c.reqRealTimeBars(5003, stock(), 5, "MIDPOINT", True, []),
         OUT.REQ_REAL_TIME_BARS, m.ReqRealTimeBars(5003, stock(), 5, "MIDPOINT", True)),
        ("cancelRealTimeBars", lambda c: c.cancelRealTimeBars(5003), OUT.CANCEL_REAL_TIME_BARS,
         m.CancelRealTimeBars(5003)),
        ("reqMktDepth (unsupported)", lambda c: c.reqMktDepth(5004, stock(), 5, False, []),
         OUT.REQ_MKT_DEPTH, m.Unsupported(OUT.REQ_MKT_DEPTH, 5004, "REQ_MKT_DEPTH")),
    ]  # fmt: skip
    return plan


@pytest.fixture(scope="module", params=IN_VERSIONS, ids=lambda v: f"v{v}")
def session(request):
    with CaptureSession(request.param) as captured:
        yield captured


def test_client_requests_decode_to_what_was_sent(session):
    version = session.version
    checked = 0
    for description, call, out_id, expected in request_plan(version):
        msg_id, is_protobuf, body = session.request(call)
        assert msg_id == out_id, description
        gate = PROTOBUF_MSG_IDS.get(out_id)
        assert is_protobuf == (gate is not None and gate <= version), description
        if not is_protobuf:
            continue  # text: the text request decoder's business
        decoded = decode_proto_request(msg_id, body)
        found = differences(decoded, expected, description)
        assert not found, "\n".join(found)
        checked += 1
    assert checked >= 9  # 203 already sends orders and executions as protobuf


def test_start_api_decodes_from_the_handshake(session):
    msg_id, is_protobuf, body = split_payload(session.version, session.start_api_payload)
    assert msg_id == OUT.START_API
    assert is_protobuf == (session.version >= PROTOBUF_MSG_IDS[OUT.START_API])
    if is_protobuf:
        assert_same(decode_proto_request(msg_id, body), m.StartApi(session.client_id, ""))


def test_malformed_protobuf_is_refused():
    with pytest.raises(ProtocolError):
        decode_proto_request(OUT.PLACE_ORDER, b"\x0a\xff\xff")


# --------------------------------------------------------------------------- handshake replies


class HandshakeWrapper(EWrapper):
    def __init__(self) -> None:
        super().__init__()
        self.accounts: list[str] = []
        self.next_id: list[int] = []
        self.done = threading.Event()

    def managedAccounts(self, accountsList: str):
        self.accounts.append(accountsList)

    def nextValidId(self, orderId: int):
        self.next_id.append(orderId)
        self.done.set()


def reply(version: int, msg: m.Message, text_fields: list) -> bytes:
    """The simulator's form of ``msg``: protobuf where TWS uses it, else text."""
    payload = encode_proto(version, msg)
    if payload is None:
        payload = text_payload(version, text_fields[0], text_fields[1:])
    return payload


@pytest.mark.parametrize("version", IN_VERSIONS, ids=lambda v: f"v{v}")
def test_running_client_decodes_handshake_replies_in_the_versions_form(version):
    """managedAccounts and nextValidId, answered as protobuf from 207 / 213, reach the callbacks
    of an EClient whose message loop runs."""
    listener = socket.create_server(("127.0.0.1", 0))
    forms: list[bool] = []
    failure: list[BaseException] = []

    def serve() -> None:
        try:
            conn, _ = listener.accept()
            reader = FrameReader(conn)
            assert reader.read_exact(len(API_PREFIX)) == API_PREFIX
            reader.read_frame()
            conn.sendall(frame(f"{version}\0{'20250323 22:21:01 GMT'}\0".encode()))
            reader.read_frame()  # startApi
            for msg, fields in (
                (m.ManagedAccounts([ACCOUNT]), [IN.MANAGED_ACCTS, 1, ACCOUNT]),
                (m.NextValidId(77), [IN.NEXT_VALID_ID, 1, 77]),
            ):
                payload = reply(version, msg, fields)
                forms.append(split_payload(version, payload)[1])
                conn.sendall(frame(payload))
            with contextlib.suppress(OSError):
                reader.read_frame()  # blocks until the client hangs up
            conn.close()
        except BaseException as exc:
            failure.append(exc)

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    wrapper = HandshakeWrapper()
    client = EClient(wrapper)
    client.connect("127.0.0.1", listener.getsockname()[1], 3)
    loop = threading.Thread(target=client.run, daemon=True)
    loop.start()
    try:
        assert wrapper.done.wait(10), "nextValidId never arrived"
    finally:
        client.disconnect()
        loop.join(10)
        server.join(10)
        listener.close()
    assert not failure, failure
    assert forms == [version >= 207, version >= 213]
    assert (wrapper.accounts, wrapper.next_id) == ([ACCOUNT], [77])
