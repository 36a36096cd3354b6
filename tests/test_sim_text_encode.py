"""Round trips through ibapi's real decoder: every message kind, every server version 157..225.

Each message is encoded with ``encode_text``, split into fields the way ``EClient.run`` splits a
frame, and fed to ``Decoder(wrapper, version).interpret``. The test then checks that

* the decoder read every field and no more (a field tuple that counts what is iterated), and
* the callback received exactly what was encoded, field by field.

Where TWS reports an ibapi default differently (a market order's limit price as ``0.0``, an empty
delta-neutral order type as ``None``, ...), the expected value is the one TWS reports; those
spellings are listed once in ``TWS_REPORTS`` and checked against real captures in
``test_sim_text_golden``. Fields the wire does not carry at a version (``ORDER_GATES`` and
friends, from ``ibapi.server_versions``) are expected back at ibapi's default.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from enum import Enum

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ibapi import comm
from ibapi import server_versions as sv
from ibapi.commission_and_fees_report import CommissionAndFeesReport
from ibapi.common import PriceIncrement
from ibapi.const import UNSET_DECIMAL, UNSET_DOUBLE, UNSET_INTEGER
from ibapi.contract import ComboLeg, Contract, ContractDetails, DeltaNeutralContract
from ibapi.decoder import Decoder
from ibapi.execution import Execution
from ibapi.ineligibility_reason import IneligibilityReason
from ibapi.order import Order, OrderComboLeg
from ibapi.order_condition import PriceCondition, TimeCondition
from ibapi.order_state import OrderAllocation, OrderState
from ibapi.server_versions import MAX_CLIENT_VER
from ibapi.softdollartier import SoftDollarTier
from ibapi.tag_value import TagValue
from ibapi.wrapper import EWrapper
from test_sim_fa_codec import FA_CALLBACKS, FA_EXAMPLES, FA_KINDS, fa_call
from test_sim_history_codec import HISTORY_EXAMPLES, HISTORY_KINDS, assert_history_round_trip
from test_sim_market_codec import MARKET_EXAMPLES, MARKET_KINDS, decode_text_calls, market_calls
from test_sim_market_codec import plain as plain_calls
from test_sim_pnl import PNL_EXAMPLES

from twsapp.sim import messages as m
from twsapp.sim.text import encode_text, supported_messages, text_fields
from twsapp.sim.wire import UNSET_DOUBLE_TEXT

ALL_VERSIONS = list(range(157, MAX_CLIENT_VER + 1))
KEY_VERSIONS = [157, 163, 170, 176, 178, 183, 187, 190, 194, 200, 203, 213, MAX_CLIENT_VER]
PROPERTY = settings(max_examples=60, deadline=None)

# --------------------------------------------------------------------------- decoding harness


class CountingFields(tuple):
    """The field tuple handed to ``Decoder.interpret``; counts what the decoder iterates."""

    consumed: int | None = None

    def __iter__(self):
        self.consumed = 0
        return self._counting(super().__iter__())

    def _counting(self, items):
        for item in items:
            self.consumed += 1
            yield item


class Recorder(EWrapper):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, tuple]] = []


CALLBACKS = [
    "managedAccounts",
    "nextValidId",
    "currentTime",
    "currentTimeInMillis",
    "error",
    "contractDetails",
    "contractDetailsEnd",
    "marketRule",
    "openOrder",
    "openOrderEnd",
    "orderStatus",
    "execDetails",
    "execDetailsEnd",
    "commissionAndFeesReport",
    "completedOrder",
    "completedOrdersEnd",
    "position",
    "positionEnd",
    "accountSummary",
    "accountSummaryEnd",
    "updateAccountValue",
    "updatePortfolio",
    "updateAccountTime",
    "accountDownloadEnd",
    "pnl",
    "pnlSingle",
]


def _recording(name: str):
    def method(self: Recorder, *args: object) -> None:
        self.calls.append((name, args))

    method.__name__ = name
    return method


for _name in (*CALLBACKS, *FA_CALLBACKS):
    setattr(Recorder, _name, _recording(_name))


def decode(version: int, msg: m.Message) -> tuple[str, tuple]:
    """Encode, frame-split as ``EClient.run`` does, decode; return the single callback."""
    payload = encode_text(version, msg)
    if version >= sv.MIN_SERVER_VER_PROTOBUF:
        msg_id, rest = int.from_bytes(payload[:4], "big"), payload[4:]
    else:
        end = payload.index(b"\0")
        msg_id, rest = int(payload[:end]), payload[end + 1 :]
    assert msg_id == int(text_fields(version, msg)[0])
    fields = CountingFields(comm.read_fields(rest))
    recorder = Recorder()
    decoder = Decoder(recorder, version)
    decoder.interpret(fields, msg_id)
    assert len(recorder.calls) == 1, f"callbacks: {recorder.calls}"
    handler = decoder.msgId2handleInfo[msg_id]
    if handler.processMeth is not None:
        assert fields.consumed == len(fields), (
            f"decoder read {fields.consumed} of {len(fields)} fields at v{version}"
        )
    # Signature-decoded messages are only called back when the field count matches exactly.
    return recorder.calls[0]


def differences(expected: object, actual: object, path: str = "") -> list[str]:
    """Field-by-field comparison of ibapi objects (recursively), lists and scalars."""
    if isinstance(expected, Enum) or isinstance(actual, Enum):
        return [] if expected == actual else [f"{path}: {expected!r} != {actual!r}"]
    if hasattr(expected, "__dict__") and hasattr(actual, "__dict__"):
        if type(expected) is not type(actual):
            return [f"{path}: {type(expected).__name__} != {type(actual).__name__}"]
        keys = sorted(set(vars(expected)) | set(vars(actual)))
        out: list[str] = []
        for key in keys:
            out += differences(
                getattr(expected, key, "<absent>"),
                getattr(actual, key, "<absent>"),
                f"{path}.{key}",
            )
        return out
    if isinstance(expected, list | tuple) and isinstance(actual, list | tuple):
        if len(expected) != len(actual):
            return [f"{path}: {len(expected)} items != {len(actual)} items"]
        out = []
        for i, (a, b) in enumerate(zip(expected, actual, strict=True)):
            out += differences(a, b, f"{path}[{i}]")
        return out
    if expected != actual:
        return [f"{path}: expected {expected!r}, decoded {actual!r}"]
    return []


def assert_same(expected: object, actual: object, what: str) -> None:
    diffs = differences(expected, actual, what)
    assert diffs == [], "\n".join(diffs)


# --------------------------------------------------------------------------- what TWS reports

# ibapi default -> what TWS reports in that field (see test_sim_text_golden for the captures).
TWS_REPORTS: dict[str, dict[str, tuple[object, object]]] = {
    "order_contract": {"strike": (UNSET_DOUBLE, 0.0), "right": ("", "?")},
    "plain_contract": {"strike": (UNSET_DOUBLE, 0.0)},
    "portfolio_contract": {"strike": (UNSET_DOUBLE, 0.0), "right": ("", "0")},
    "order": {
        "lmtPrice": (UNSET_DOUBLE, 0.0),
        "auxPrice": (UNSET_DOUBLE, 0.0),
        "displaySize": (0, UNSET_INTEGER),
        "volatilityType": (UNSET_INTEGER, 0),
        "referencePriceType": (UNSET_INTEGER, 0),
        "deltaNeutralOrderType": ("", "None"),
        "deltaNeutralOpenClose": ("", "?"),
        "adjustedOrderType": ("", "None"),
        "cashQty": (UNSET_DOUBLE, 0.0),
        "usePriceMgmtAlgo": (None, False),
        "routeMarketableToBbo": (None, False),
        "filledQuantity": (UNSET_DECIMAL, Decimal(0)),
    },
    "state": dict.fromkeys(
        (
            "initMarginBefore",
            "maintMarginBefore",
            "equityWithLoanBefore",
            "initMarginChange",
            "maintMarginChange",
            "equityWithLoanChange",
            "initMarginAfter",
            "maintMarginAfter",
            "equityWithLoanAfter",
        ),
        ("", UNSET_DOUBLE_TEXT),
    ),
}

# Order fields and the server version from which openOrder carries them.
ORDER_GATES = {
    "duration": sv.MIN_SERVER_VER_DURATION,
    "postToAts": sv.MIN_SERVER_VER_POST_TO_ATS,
    "autoCancelParent": sv.MIN_SERVER_VER_AUTO_CANCEL_PARENT,
    "minTradeQty": sv.MIN_SERVER_VER_PEGBEST_PEGMID_OFFSETS,
    "minCompeteSize": sv.MIN_SERVER_VER_PEGBEST_PEGMID_OFFSETS,
    "competeAgainstBestOffset": sv.MIN_SERVER_VER_PEGBEST_PEGMID_OFFSETS,
    "midOffsetAtWhole": sv.MIN_SERVER_VER_PEGBEST_PEGMID_OFFSETS,
    "midOffsetAtHalf": sv.MIN_SERVER_VER_PEGBEST_PEGMID_OFFSETS,
    "customerAccount": sv.MIN_SERVER_VER_CUSTOMER_ACCOUNT,
    "professionalCustomer": sv.MIN_SERVER_VER_PROFESSIONAL_CUSTOMER,
    "bondAccruedInterest": sv.MIN_SERVER_VER_BOND_ACCRUED_INTEREST,
    "includeOvernight": sv.MIN_SERVER_VER_INCLUDE_OVERNIGHT,
    "extOperator": sv.MIN_SERVER_VER_CME_TAGGING_FIELDS_IN_OPEN_ORDER,
    "manualOrderIndicator": sv.MIN_SERVER_VER_CME_TAGGING_FIELDS_IN_OPEN_ORDER,
    "submitter": sv.MIN_SERVER_VER_SUBMITTER,
    "imbalanceOnly": sv.MIN_SERVER_VER_IMBALANCE_ONLY,
}
STATE_PREVIEW_FIELDS = (
    "marginCurrency",
    "initMarginBeforeOutsideRTH",
    "maintMarginBeforeOutsideRTH",
    "equityWithLoanBeforeOutsideRTH",
    "initMarginChangeOutsideRTH",
    "maintMarginChangeOutsideRTH",
    "equityWithLoanChangeOutsideRTH",
    "initMarginAfterOutsideRTH",
    "maintMarginAfterOutsideRTH",
    "equityWithLoanAfterOutsideRTH",
    "suggestedSize",
    "rejectReason",
    "orderAllocations",
)
# What each order message does not carry at all.
NOT_IN_OPEN_ORDER = {
    "transmit",
    "autoCancelDate",
    "filledQuantity",
    "refFuturesConId",
    "shareholder",
    "routeMarketableToBbo",
    "parentPermId",
}
NOT_IN_COMPLETED_ORDER = {
    "transmit",
    "orderId",
    "clientId",
    "parentId",
    "blockOrder",
    "auctionStrategy",
    "basisPoints",
    "basisPointsType",
    "optOutSmartRouting",
    "whatIf",
    "triggerPrice",
    "adjustedOrderType",
    "adjustedStopPrice",
    "adjustedStopLimitPrice",
    "adjustedTrailingAmount",
    "adjustableTrailingUnit",
    "softDollarTier",
    "discretionaryUpToLimitPrice",
    "usePriceMgmtAlgo",
    "duration",
    "postToAts",
    "bondAccruedInterest",
    "includeOvernight",
    "extOperator",
    "manualOrderIndicator",
    "deltaNeutralSettlingFirm",
    "deltaNeutralClearingAccount",
    "deltaNeutralClearingIntent",
    "deltaNeutralOpenClose",
}
COMPLETED_STATE_FIELDS = {"status", "completedTime", "completedStatus"}
CONTRACT_FIELDS = {
    "order": ("conId", "symbol", "secType", "lastTradeDateOrContractMonth", "strike", "right",
              "multiplier", "exchange", "currency", "localSymbol", "tradingClass",
              "comboLegsDescrip", "comboLegs", "deltaNeutralContract"),
    "exec": ("conId", "symbol", "secType", "lastTradeDateOrContractMonth", "strike", "right",
             "multiplier", "exchange", "currency", "localSymbol", "tradingClass"),
    "portfolio": ("conId", "symbol", "secType", "lastTradeDateOrContractMonth", "strike", "right",
                  "multiplier", "primaryExchange", "currency", "localSymbol", "tradingClass"),
    "details": ("symbol", "secType", "lastTradeDateOrContractMonth", "lastTradeDate", "strike",
                "right", "exchange", "currency", "localSymbol", "tradingClass", "conId",
                "multiplier", "primaryExchange"),
}  # fmt: skip


def _as_tws_reports(obj: object, table: str) -> None:
    for attr, (ibapi_default, reported) in TWS_REPORTS[table].items():
        if getattr(obj, attr) == ibapi_default and type(getattr(obj, attr)) is type(ibapi_default):
            setattr(obj, attr, reported)


def _reset(obj: object, attrs: set[str] | tuple[str, ...], default: object) -> None:
    for attr in attrs:
        setattr(obj, attr, copy.deepcopy(getattr(default, attr)))


def expected_contract(contract: Contract, kind: str, table: str, v: int = 0) -> Contract:
    out = Contract()
    carried = set(CONTRACT_FIELDS[kind])
    if kind == "details" and v < sv.MIN_SERVER_VER_LAST_TRADE_DATE:
        carried.discard("lastTradeDate")
    for attr in carried:
        setattr(out, attr, copy.deepcopy(getattr(contract, attr)))
    _as_tws_reports(out, table)
    return out


def expected_order(order: Order, v: int, completed: bool) -> Order:
    out = copy.deepcopy(order)
    _as_tws_reports(out, "order")
    gates = dict(ORDER_GATES)
    if completed:
        _reset(out, NOT_IN_COMPLETED_ORDER, Order())
        gates = {k: g for k, g in gates.items() if k not in NOT_IN_COMPLETED_ORDER}
        gates.pop("imbalanceOnly")  # completedOrder has carried it since COMPLETED_ORDERS
        gates.pop("autoCancelParent")
    else:
        _reset(out, NOT_IN_OPEN_ORDER, Order())
    _reset(out, {attr for attr, gate in gates.items() if v < gate}, Order())
    return out


def expected_state(state: OrderState, v: int, completed: bool) -> OrderState:
    out = copy.deepcopy(state)
    if completed:
        _reset(out, set(vars(out)) - COMPLETED_STATE_FIELDS, OrderState())
        return out
    _reset(out, {"completedTime", "completedStatus"}, OrderState())
    if v < sv.MIN_SERVER_VER_FULL_ORDER_PREVIEW_FIELDS:
        _reset(out, STATE_PREVIEW_FIELDS, OrderState())
    if not out.orderAllocations:
        out.orderAllocations = None
    _as_tws_reports(out, "state")
    return out


# --------------------------------------------------------------------------- realistic objects


def stock(symbol: str = "AAPL", con_id: int = 265598) -> Contract:
    c = Contract()
    c.conId, c.symbol, c.secType = con_id, symbol, "STK"
    c.exchange, c.primaryExchange, c.currency = "SMART", "NASDAQ", "USD"
    c.localSymbol, c.tradingClass = symbol, "NMS"
    return c


def future() -> Contract:
    c = Contract()
    c.conId, c.symbol, c.secType = 637533641, "ES", "FUT"
    c.lastTradeDateOrContractMonth, c.lastTradeDate, c.multiplier = "20250919", "20250919", "50"
    c.exchange, c.currency, c.localSymbol, c.tradingClass = "CME", "USD", "ESU5", "ES"
    c.strike = 0.0
    return c


def option() -> Contract:
    c = Contract()
    c.conId, c.symbol, c.secType = 853200900, "OBDC", "OPT"
    c.lastTradeDateOrContractMonth, c.strike, c.right, c.multiplier = "20261120", 10.0, "P", "100"
    c.exchange, c.currency = "SMART", "USD"
    c.localSymbol, c.tradingClass = "OBDC  261120P00010000", "OBDC"
    return c


def combo() -> Contract:
    c = Contract()
    c.conId, c.symbol, c.secType, c.exchange, c.currency = 28812380, "AAPL", "BAG", "SMART", "USD"
    c.comboLegsDescrip = "887307502|1,887307536|-1"
    for con_id, action in ((887307502, "BUY"), (887307536, "SELL")):
        leg = ComboLeg()
        leg.conId, leg.ratio, leg.action, leg.exchange = con_id, 1, action, "SMART"
        c.comboLegs.append(leg)
    c.deltaNeutralContract = DeltaNeutralContract()
    c.deltaNeutralContract.conId = 265598
    c.deltaNeutralContract.delta, c.deltaNeutralContract.price = 0.5, 314.5
    return c


def simple_order(
    order_type: str = "LMT",
    action: str = "BUY",
    quantity: Decimal = Decimal(100),
    lmt: float = UNSET_DOUBLE,
    aux: float = UNSET_DOUBLE,
    **attrs: object,
) -> Order:
    """An order as a client builds it (ibapi defaults elsewhere), plus what TWS fills in."""
    o = Order()
    o.orderId, o.clientId, o.permId = 1001, 7, 1377295418
    o.action, o.totalQuantity, o.orderType = action, quantity, order_type
    o.lmtPrice, o.auxPrice = lmt, aux
    o.tif, o.account = "DAY", "DU1234567"
    o.ocaType, o.clearingIntent, o.dontUseAutoPriceForHedge = 3, "IB", True
    for name, value in attrs.items():
        assert hasattr(o, name), name
        setattr(o, name, value)
    return o


def rich_order() -> Order:
    """Bracket child with OCA, algo, condition, and every version-gated field set."""
    o = simple_order("STP LMT", "SELL", Decimal("12.5"), lmt=148.75, aux=149.0)
    o.parentId, o.ocaGroup, o.ocaType, o.transmit = 1000, "oca-1001", 1, False
    o.tif, o.goodTillDate, o.outsideRth, o.hidden = (
        "GTC",
        "20260101 16:00:00 US/Eastern",
        True,
        True,
    )
    o.orderRef, o.faGroup, o.faMethod, o.faPercentage = "ref-1", "grp", "NetLiq", ""
    o.modelCode, o.rule80A, o.openClose, o.origin = "model", "A", "C", 0
    o.displaySize, o.minQty, o.percentOffset, o.discretionaryAmt = 10, 5, 0.02, 0.25
    o.algoStrategy = "Adaptive"
    o.algoParams = [TagValue("adaptivePriority", "Patient")]
    o.smartComboRoutingParams = [TagValue("NonGuaranteed", "1")]
    o.conditions = [PriceCondition(4, 265598, "SMART", True, 2918.1), TimeCondition()]
    o.conditions[1].isMore, o.conditions[1].time = False, "20261231 15:00:00 US/Eastern"
    o.conditions[1].isConjunctionConnection = False
    o.conditionsIgnoreRth, o.conditionsCancelOrder = True, False
    o.trailStopPrice, o.lmtPriceOffset, o.triggerPrice = 150.5, 0.25, 149.5
    o.adjustedOrderType, o.adjustedStopPrice, o.adjustableTrailingUnit = "STP", 140.0, 1
    o.softDollarTier = SoftDollarTier("tier", "1", "Tier 1")
    o.cashQty, o.usePriceMgmtAlgo, o.isOmsContainer = 1500.0, True, False
    o.duration, o.postToAts, o.autoCancelParent = 60, 1, True
    o.minTradeQty, o.minCompeteSize, o.competeAgainstBestOffset = 100, 100, 0.02
    o.midOffsetAtWhole, o.midOffsetAtHalf = 0.01, 0.005
    o.customerAccount, o.professionalCustomer, o.bondAccruedInterest = "cust", True, "1.25"
    o.includeOvernight, o.extOperator, o.manualOrderIndicator = True, "op", 1
    o.submitter, o.imbalanceOnly = "paper-user", True
    o.hedgeType, o.hedgeParam = "B", "beta=1"
    o.scalePriceIncrement, o.scalePriceAdjustValue, o.scaleAutoReset = 0.05, 0.01, True
    o.scaleInitLevelSize, o.scaleSubsLevelSize, o.scaleInitPosition = 100, 50, 0
    o.deltaNeutralOrderType, o.deltaNeutralAuxPrice, o.deltaNeutralConId = "LMT", 1.5, 265598
    o.deltaNeutralOpenClose, o.deltaNeutralShortSale = "O", True
    o.orderComboLegs = [OrderComboLeg()]
    o.orderComboLegs[0].price = 1.25
    o.filledQuantity, o.shareholder, o.parentPermId = Decimal("2.5"), "Not an insider", 77
    o.refFuturesConId, o.routeMarketableToBbo, o.autoCancelDate = 495512563, True, "20260101"
    return o


def peg_bench_order() -> Order:
    o = simple_order("PEG BENCH", lmt=150.0)
    o.referenceContractId, o.isPeggedChangeAmountDecrease = 756733, True
    o.peggedChangeAmount, o.referenceChangeAmount, o.referenceExchangeId = 0.1, 0.2, "ARCA"
    return o


def trailing_order() -> Order:
    return simple_order(
        "TRAIL LIMIT", lmt=2000.05, aux=1.0, trailStopPrice=2000.0, lmtPriceOffset=0.05
    )


def order_state(status: str = "Submitted", preview: bool = False) -> OrderState:
    s = OrderState()
    s.status = status
    s.completedTime, s.completedStatus = "20260415 11:00:11 US/Eastern", "Cancelled by Trader"
    if preview:
        s.initMarginBefore, s.initMarginChange, s.initMarginAfter = "1000.5", "12.0", "1012.5"
        s.commissionAndFees, s.maxCommissionAndFees, s.commissionAndFeesCurrency = 1.0, 2.5, "USD"
        s.marginCurrency, s.initMarginAfterOutsideRTH = "USD", 1500.25
        s.suggestedSize, s.rejectReason, s.warningText = Decimal(10), "", "careful"
        alloc = OrderAllocation()
        alloc.account, alloc.position, alloc.isMonetary = "DU1234567", Decimal(100), True
        s.orderAllocations = [alloc]
    return s


def execution(
    order_id: int = 1001, shares: Decimal = Decimal(100), price: float = 196.52
) -> Execution:
    e = Execution()
    e.orderId, e.execId, e.time = (
        order_id,
        "00025b46.63f8f39c.01.01",
        "20260413 15:27:04 US/Eastern",
    )
    e.acctNumber, e.exchange, e.side, e.shares, e.price = (
        "DU1234567",
        "ISLAND",
        "BOT",
        shares,
        price,
    )
    e.permId, e.clientId, e.liquidation, e.cumQty, e.avgPrice = 1376327563, 7, 0, shares, price
    e.orderRef, e.lastLiquidity, e.pendingPriceRevision, e.submitter = "ref-1", 2, True, "me"
    return e


def contract_details(contract: Contract | None = None) -> ContractDetails:
    d = ContractDetails()
    d.contract = contract or stock()
    d.marketName, d.minTick, d.orderTypes = "NMS", 0.01, "LMT,MKT,STP"
    d.validExchanges, d.priceMagnifier, d.longName = "SMART,NASDAQ", 1, "APPLE INC"
    d.industry, d.category, d.subcategory = "Technology", "Computers", "Computers"
    d.timeZoneId, d.tradingHours = "US/Eastern", "20260406:0400-20260406:2000"
    d.liquidHours, d.aggGroup, d.marketRuleIds = "20260406:0930-20260406:1600", 1, "26,26"
    d.secIdList = [TagValue("ISIN", "US0378331005")]
    d.stockType, d.minSize, d.sizeIncrement = "COMMON", Decimal("0.0001"), Decimal("0.0001")
    d.suggestedSizeIncrement = Decimal(100)
    d.ineligibilityReasonList = [IneligibilityReason("1", "not eligible")]
    return d


def future_details() -> ContractDetails:
    d = contract_details(future())
    d.minTick, d.underConId, d.longName, d.contractMonth = (
        0.25,
        11004968,
        "E-mini S&P 500",
        "202509",
    )
    d.timeZoneId, d.lastTradeTime, d.underSymbol, d.underSecType = (
        "US/Central",
        "08:30:00",
        "ES",
        "IND",
    )
    d.realExpirationDate, d.aggGroup, d.evRule, d.evMultiplier = "20250919", UNSET_INTEGER, "r", 2
    d.secIdList, d.ineligibilityReasonList, d.stockType = [], None, ""
    return d


def fund_details() -> ContractDetails:
    c = stock("VTSAX", 48013650)
    c.secType, c.exchange, c.primaryExchange = "FUND", "FUNDSERV", ""
    d = contract_details(c)
    d.fundName, d.fundFamily, d.fundManagementFee, d.fundClosed = "Total", "Vanguard", "0.04", True
    d.fundMinimumInitialPurchase, d.fundBlueSkyStates = "3000", "All"
    return d


def commission(report_exec_id: str = "00025b46.63f8f39c.01.01") -> CommissionAndFeesReport:
    r = CommissionAndFeesReport()
    r.execId, r.commissionAndFees, r.currency = report_exec_id, 1.0003, "USD"
    r.realizedPNL, r.yield_, r.yieldRedemptionDate = -68.051912, UNSET_DOUBLE, 0
    return r


# --------------------------------------------------------------------------- expectations


def expected_call(v: int, msg: m.Message) -> tuple[str, tuple]:
    """The callback ibapi should make for ``msg`` at ``v``, in TWS's terms."""
    if isinstance(msg, m.PositionMulti):
        name, args = fa_call(msg)
        contract = expected_contract(msg.contract, "exec", "plain_contract")
        return name, (*args[:3], contract, *args[4:])
    if isinstance(msg, FA_KINDS):
        return fa_call(msg)
    match msg:
        case m.OpenOrder(order_id, contract, order, state):
            exp_order = expected_order(order, v, completed=False)
            exp_order.orderId = order_id
            return "openOrder", (
                order_id,
                expected_contract(contract, "order", "order_contract"),
                exp_order,
                expected_state(state, v, completed=False),
            )
        case m.CompletedOrder(contract, order, state):
            return "completedOrder", (
                expected_contract(contract, "order", "order_contract"),
                expected_order(order, v, completed=True),
                expected_state(state, v, completed=True),
            )
        case m.ExecDetails(req_id, contract, execu):
            exp = copy.deepcopy(execu)
            if v < sv.MIN_SERVER_VER_PENDING_PRICE_REVISION:
                exp.pendingPriceRevision = False
            if v < sv.MIN_SERVER_VER_SUBMITTER:
                exp.submitter = ""
            return "execDetails", (
                req_id,
                expected_contract(contract, "exec", "plain_contract"),
                exp,
            )
        case m.ContractData(req_id, details):
            return "contractDetails", (req_id, expected_details(details, v))
        case m.Position(account, contract, position, avg_cost):
            return "position", (
                account,
                expected_contract(contract, "exec", "plain_contract"),
                position,
                avg_cost,
            )
        case m.PortfolioValue(contract, position, price, value, cost, unrealized, realized, acct):
            return "updatePortfolio", (
                expected_contract(contract, "portfolio", "portfolio_contract"),
                *(position, price, value, cost, unrealized, realized, acct),
            )
        case m.ErrorMsg(req_id, code, text, advanced, error_time):
            if v < sv.MIN_SERVER_VER_ADVANCED_ORDER_REJECT:
                advanced = ""
            if v < sv.MIN_SERVER_VER_ERROR_TIME:
                error_time = 0
            return "error", (req_id, error_time, code, text, advanced)
        case m.MarketRule(rule_id, increments):
            return "marketRule", (rule_id, [_price_increment(*pair) for pair in increments])
        case m.ManagedAccounts(accounts):
            return "managedAccounts", (",".join(accounts),)
    simple = {
        m.NextValidId: "nextValidId",
        m.CurrentTime: "currentTime",
        m.CurrentTimeInMillis: "currentTimeInMillis",
        m.ContractDataEnd: "contractDetailsEnd",
        m.OpenOrderEnd: "openOrderEnd",
        m.OrderStatus: "orderStatus",
        m.ExecDetailsEnd: "execDetailsEnd",
        m.CommissionReport: "commissionAndFeesReport",
        m.CompletedOrdersEnd: "completedOrdersEnd",
        m.PositionEnd: "positionEnd",
        m.AccountSummary: "accountSummary",
        m.AccountSummaryEnd: "accountSummaryEnd",
        m.AccountValue: "updateAccountValue",
        m.AccountUpdateTime: "updateAccountTime",
        m.AccountDownloadEnd: "accountDownloadEnd",
        m.PnL: "pnl",  # the fields are in the callback's order
        m.PnLSingle: "pnlSingle",
    }
    return simple[type(msg)], tuple(vars(msg).values())


def _price_increment(low_edge: float, increment: float) -> PriceIncrement:
    out = PriceIncrement()
    out.lowEdge, out.increment = low_edge, increment
    return out


def expected_details(details: ContractDetails, v: int) -> ContractDetails:
    out = copy.deepcopy(details)
    out.contract = expected_contract(details.contract, "details", "plain_contract", v)
    if not details.contract.lastTradeDateOrContractMonth:
        out.lastTradeTime = ""
    if not out.secIdList:
        out.secIdList = None
    defaults = ContractDetails()
    if v < sv.MIN_SERVER_VER_SIZE_RULES:
        _reset(out, ("minSize", "sizeIncrement", "suggestedSizeIncrement"), defaults)
    if v < sv.MIN_SERVER_VER_FUND_DATA_FIELDS or details.contract.secType != "FUND":
        _reset(out, [a for a in vars(defaults) if a.startswith("fund")], defaults)
    if v < sv.MIN_SERVER_VER_INELIGIBILITY_REASONS or not out.ineligibilityReasonList:
        out.ineligibilityReasonList = None
    # Not on the text wire: bond fields, algo sizes, precisions.
    for attr in ("minAlgoSize", "lastPricePrecision", "lastSizePrecision"):
        setattr(out, attr, getattr(defaults, attr))
    return out


def assert_round_trip(v: int, msg: m.Message) -> None:
    if isinstance(msg, HISTORY_KINDS):  # bars and ticks in lists, an end folded below 196
        assert_history_round_trip(v, msg)
        return
    if isinstance(msg, MARKET_KINDS):  # several callbacks (tickPrice + tickSize): their test
        assert plain_calls(decode_text_calls(v, msg)) == plain_calls(market_calls(v, msg, False))
        return
    name, args = decode(v, msg)
    want_name, want_args = expected_call(v, msg)
    assert name == want_name
    assert_same(list(want_args), list(args), f"{name}@v{v}")


# --------------------------------------------------------------------------- examples


def examples() -> list[m.Message]:
    """One realistic instance (or more) of every message the simulator sends."""
    mkt = simple_order("MKT", quantity=Decimal(100))
    stp = simple_order("STP", "SELL", Decimal(50), aux=140.0, parentId=1000, ocaGroup="b-1000")
    return [
        m.ManagedAccounts(["DU1234567", "DU7654321"]),
        m.NextValidId(574),
        m.CurrentTime(1752606307),
        m.CurrentTimeInMillis(1783641780497),
        m.ErrorMsg(1001, 202, "Order Canceled - reason:", "", 1775425766350),
        m.ErrorMsg(-1, 2104, "Market data farm connection is OK:usfarm"),
        m.ErrorMsg(7, 201, "Order rejected - r\u00e9ason: \\ caf\u00e9 \u20ac", '{"k": "v"}', 5),
        m.ContractData(9001, contract_details()),
        m.ContractData(9002, future_details()),
        m.ContractData(9003, fund_details()),
        m.ContractData(9004, contract_details(option())),
        m.ContractDataEnd(9001),
        m.MarketRule(26, [(0.0, 0.01), (1000.0, 0.05)]),
        m.OpenOrder(1001, stock(), mkt, order_state("PreSubmitted")),
        m.OpenOrder(1002, stock(), simple_order(lmt=149.0), order_state(preview=True)),
        m.OpenOrder(1003, future(), stp, order_state()),
        m.OpenOrder(1004, combo(), rich_order(), order_state("Submitted", preview=True)),
        m.OpenOrder(1005, option(), trailing_order(), order_state()),
        m.OpenOrder(1006, stock(), peg_bench_order(), order_state()),
        m.OpenOrderEnd(),
        m.OrderStatus(1001, "Submitted", Decimal(0), Decimal(100), 0.0, 1377295418, 0, 0.0, 7),
        m.OrderStatus(
            1001, "Filled", Decimal("100"), Decimal(0), 196.52, 1377295418, 1000, 196.5, 7, "", 0.0
        ),
        m.ExecDetails(-1, stock(), execution()),
        m.ExecDetails(5, future(), execution(shares=Decimal("1"), price=5800.0)),
        m.ExecDetailsEnd(5),
        m.CommissionReport(commission()),
        m.CompletedOrder(future(), rich_order(), order_state("Cancelled")),
        m.CompletedOrder(stock(), trailing_order(), order_state("Cancelled")),
        m.CompletedOrder(stock(), mkt, order_state("Filled")),
        m.CompletedOrdersEnd(),
        m.Position("DU1234567", stock(), Decimal(-110), 201.8829709),
        m.Position("DU1234567", future(), Decimal(1), 315114.75),
        m.PositionEnd(),
        m.AccountSummary(9000, "DU1234567", "NetLiquidation", "246447.83", "USD"),
        m.AccountSummaryEnd(9000),
        m.AccountValue("NetLiquidation", "246447.83", "USD", "DU1234567"),
        m.PortfolioValue(stock(), Decimal(-100), 291.62, -29162.34, 291.27, -35.74, -71.44, "DU1"),
        m.PortfolioValue(option(), Decimal(2), 1.2, 240.0, 1.1, 20.0, 0.0, "DU1"),
        m.AccountUpdateTime("14:34"),
        m.AccountDownloadEnd("DU1234567"),
        *MARKET_EXAMPLES,
        *HISTORY_EXAMPLES,
        *PNL_EXAMPLES,
        *FA_EXAMPLES,
    ]


def _example_id(msg: m.Message) -> str:
    return type(msg).__name__


def test_every_message_kind_is_encoded() -> None:
    kinds = set(m.Message.__subclasses__())
    assert kinds == set(supported_messages())
    assert kinds == {type(msg) for msg in examples()}


@pytest.mark.parametrize("msg", examples(), ids=_example_id)
def test_round_trip_at_every_version(msg: m.Message) -> None:
    for v in ALL_VERSIONS:
        assert_round_trip(v, copy.deepcopy(msg))


def test_frame_id_is_text_below_201_and_binary_from_201() -> None:
    msg = m.NextValidId(5)
    assert encode_text(200, msg) == b"9\x001\x005\x00"
    assert encode_text(201, msg) == b"\x00\x00\x00\x09" + b"1\x005\x00"


def test_error_layout_follows_error_time_gate() -> None:
    msg = m.ErrorMsg(12, 202, "Order Canceled - reason:", "", 1775425766350)
    assert text_fields(165, msg) == ["4", "2", "12", "202", "Order Canceled - reason:"]
    assert text_fields(193, msg) == ["4", "2", "12", "202", "Order Canceled - reason:", ""]
    assert text_fields(194, msg) == [
        "4",
        "12",
        "202",
        "Order Canceled - reason:",
        "",
        "1775425766350",
    ]


def test_unknown_message_is_refused() -> None:
    with pytest.raises(TypeError):
        text_fields(176, m.Message())


# --------------------------------------------------------------------------- properties

versions = st.sampled_from(KEY_VERSIONS) | st.sampled_from(ALL_VERSIONS)
prices = st.floats(min_value=1e-6, max_value=1e7, allow_nan=False, allow_infinity=False)
signed = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, allow_infinity=False)
quantities = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal(10**7), places=4)
words = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"), max_size=16
)
ascii_words = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=12)
ids = st.integers(min_value=0, max_value=2**31 - 2)


@st.composite
def orders(draw: st.DrawFn) -> Order:
    order_type = draw(st.sampled_from(["MKT", "LMT", "STP", "STP LMT", "TRAIL", "MOC", "LOC"]))
    lmt = draw(prices) if order_type in {"LMT", "STP LMT", "LOC"} else UNSET_DOUBLE
    aux = draw(prices) if order_type in {"STP", "STP LMT", "TRAIL"} else UNSET_DOUBLE
    o = simple_order(order_type, draw(st.sampled_from(["BUY", "SELL"])), draw(quantities), lmt, aux)
    o.orderId, o.clientId, o.permId, o.parentId = draw(ids), draw(ids), draw(ids), draw(ids)
    o.tif = draw(st.sampled_from(["DAY", "GTC", "IOC", "GTD", "OPG"]))
    o.ocaGroup, o.ocaType = draw(words), draw(st.integers(0, 3))
    o.account, o.orderRef = draw(ascii_words), draw(words)
    o.outsideRth, o.transmit = draw(st.booleans()), draw(st.booleans())
    o.trailStopPrice = draw(prices | st.just(UNSET_DOUBLE))
    o.displaySize = draw(st.integers(0, 10**6))
    o.cashQty = draw(prices | st.just(UNSET_DOUBLE))
    o.submitter, o.customerAccount = draw(words), draw(words)
    o.minTradeQty = draw(st.integers(1, 10**6) | st.just(UNSET_INTEGER))
    o.filledQuantity = draw(quantities | st.just(UNSET_DECIMAL))
    return o


@st.composite
def contracts(draw: st.DrawFn) -> Contract:
    c = draw(st.sampled_from([stock(), future(), option()]))
    c.symbol, c.localSymbol, c.exchange = draw(ascii_words), draw(words), draw(ascii_words)
    c.conId = draw(ids)
    c.strike = draw(prices | st.just(UNSET_DOUBLE) | st.just(0.0))
    return c


@PROPERTY
@given(v=versions, order_id=ids, contract=contracts(), order=orders(), text=words)
def test_open_order_property(v: int, order_id: int, contract: Contract, order: Order, text: str):
    state = order_state("Submitted")
    state.warningText, state.commissionAndFees = text, order.cashQty
    assert_round_trip(v, m.OpenOrder(order_id, contract, order, state))


@PROPERTY
@given(v=versions, contract=contracts(), order=orders(), status=words)
def test_completed_order_property(v: int, contract: Contract, order: Order, status: str) -> None:
    assert_round_trip(v, m.CompletedOrder(contract, order, order_state(status)))


@PROPERTY
@given(
    v=versions,
    order_id=ids,
    status=words,
    filled=quantities,
    remaining=quantities,
    avg=prices | st.just(0.0),
    last=prices | st.just(0.0),
    why=words,
)
def test_order_status_property(v, order_id, status, filled, remaining, avg, last, why) -> None:
    msg = m.OrderStatus(order_id, status, filled, remaining, avg, 1, 0, last, 3, why, avg)
    assert_round_trip(v, msg)


@PROPERTY
@given(v=versions, contract=contracts(), shares=quantities, price=prices, ref=words, req=ids)
def test_exec_details_property(v, contract, shares, price, ref, req) -> None:
    execu = execution(shares=shares, price=price)
    execu.orderRef, execu.evMultiplier = ref, 0.0
    assert_round_trip(v, m.ExecDetails(req, contract, execu))


@PROPERTY
@given(v=versions, amount=signed, pnl=signed | st.just(UNSET_DOUBLE), exec_id=words)
def test_commission_property(v: int, amount: float, pnl: float, exec_id: str) -> None:
    report = commission(exec_id)
    report.commissionAndFees, report.realizedPNL = amount, pnl
    report.yieldRedemptionDate = 20300115
    assert_round_trip(v, m.CommissionReport(report))


@PROPERTY
@given(v=versions, contract=contracts(), position=quantities, avg=signed, account=ascii_words)
def test_position_and_portfolio_property(v, contract, position, avg, account) -> None:
    assert_round_trip(v, m.Position(account, contract, -position, avg))
    assert_round_trip(v, m.PortfolioValue(contract, position, avg, avg, avg, avg, -avg, account))


@PROPERTY
@given(v=versions, tick=prices, name=words, size=quantities, req=ids)
def test_contract_data_property(v: int, tick: float, name: str, size: Decimal, req: int) -> None:
    details = contract_details()
    details.minTick, details.longName, details.minSize = tick, name, size
    assert_round_trip(v, m.ContractData(req, details))


@PROPERTY
@given(v=versions, req=st.integers(-1, 2**31 - 2), code=ids, text=words, json=words, t=ids)
def test_error_property(v: int, req: int, code: int, text: str, json: str, t: int) -> None:
    assert_round_trip(v, m.ErrorMsg(req, code, text, json, t))


@PROPERTY
@given(v=versions, account=words, tag=words, value=words, currency=words, req=ids)
def test_account_messages_property(v, account, tag, value, currency, req) -> None:
    assert_round_trip(v, m.AccountSummary(req, account, tag, value, currency))
    assert_round_trip(v, m.AccountValue(tag, value, currency, account))
    assert_round_trip(v, m.AccountDownloadEnd(account))
    assert_round_trip(v, m.ManagedAccounts([account.replace(",", ";") or "DU1"]))


@PROPERTY
@given(v=versions, rule=ids, edges=st.lists(st.tuples(prices, prices), max_size=4))
def test_market_rule_property(v: int, rule: int, edges: list[tuple[float, float]]) -> None:
    assert_round_trip(v, m.MarketRule(rule, edges))
