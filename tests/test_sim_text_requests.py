"""The simulator reads back exactly what a real ibapi EClient writes, at every text version.

Every case drives the installed ibapi ``EClient`` over a real socket (tests/capture_client.py),
decodes the frame it sent with ``decode_text_request``, and compares every attribute of the
decoded objects with the ones handed to the client. Attributes the text protocol does not carry
are listed below (``*_NOT_ON_WIRE``) and are expected back at their defaults; a coverage test
checks that the sample orders give every other attribute a non-default value, so a field the
decoder drops or misplaces cannot go unnoticed.
"""

from __future__ import annotations

import contextlib
import copy
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ibapi.common import PROTOBUF_MSG_IDS, WshEventData
from ibapi.contract import ComboLeg, Contract, DeltaNeutralContract
from ibapi.execution import ExecutionFilter
from ibapi.message import OUT
from ibapi.order import COMPETE_AGAINST_BEST_OFFSET_UP_TO_MID, Order, OrderComboLeg
from ibapi.order_cancel import OrderCancel
from ibapi.order_condition import (
    ExecutionCondition,
    MarginCondition,
    PercentChangeCondition,
    PriceCondition,
    TimeCondition,
    VolumeCondition,
)
from ibapi.scanner import ScannerSubscription
from ibapi.server_versions import (
    MIN_SERVER_VER_ADVANCED_ORDER_REJECT,
    MIN_SERVER_VER_AUTO_CANCEL_PARENT,
    MIN_SERVER_VER_BOND_ISSUERID,
    MIN_SERVER_VER_CME_TAGGING_FIELDS,
    MIN_SERVER_VER_CURRENT_TIME_IN_MILLIS,
    MIN_SERVER_VER_CUSTOMER_ACCOUNT,
    MIN_SERVER_VER_DURATION,
    MIN_SERVER_VER_IMBALANCE_ONLY,
    MIN_SERVER_VER_INCLUDE_OVERNIGHT,
    MIN_SERVER_VER_MANUAL_ORDER_TIME,
    MIN_SERVER_VER_PARAMETRIZED_DAYS_OF_EXECUTIONS,
    MIN_SERVER_VER_PEGBEST_PEGMID_OFFSETS,
    MIN_SERVER_VER_POST_TO_ATS,
    MIN_SERVER_VER_PROFESSIONAL_CUSTOMER,
    MIN_SERVER_VER_USER_INFO,
    MIN_SERVER_VER_WSH_EVENT_DATA_FILTERS_DATE,
    MIN_SERVER_VER_WSHE_CALENDAR,
)
from ibapi.softdollartier import SoftDollarTier
from ibapi.tag_value import TagValue
from test_sim_fa_codec import FA_REQUESTS
from test_sim_history_codec import HISTORY_REQUESTS
from test_sim_pnl import PNL_REQUESTS

from twsapp.sim import messages as m
from twsapp.sim.text_requests import (
    TEXT_DECODERS,
    UNSUPPORTED_REQ_ID_INDEX,
    decode_text_request,
)
from twsapp.sim.wire import UNSET_DOUBLE, ProtocolError, split_payload

try:
    from capture_client import CaptureSession, SessionPool
except ImportError:  # tests/ imported as a package
    from tests.capture_client import CaptureSession, SessionPool

VERSIONS = (157, 160, 163, 170, 176, 178, 183, 187, 190, 194, 200, *range(201, 226))
ALWAYS_RUN = {157, 176, 187, 200}  # plus the newest text version of each request

# What placeOrder's text form does not carry (ibapi 10.46 client.py): they arrive at defaults.
# orderId travels as PlaceOrder.order_id; clientId/permId are assigned by TWS; the rest are
# protobuf-only or response-only fields. softDollarTier.displayName is not sent either.
ORDER_NOT_ON_WIRE = frozenset(
    [
        "orderId",
        "clientId",
        "permId",
        "basisPoints",
        "basisPointsType",
        "hedgeMaxSize",
        "autoCancelDate",
        "filledQuantity",
        "refFuturesConId",
        "shareholder",
        "routeMarketableToBbo",
        "parentPermId",
        "bondAccruedInterest",
        "submitter",
        "postOnly",
        "allowPreOpen",
        "ignoreOpenAuction",
        "deactivate",
        "seekPriceImprovement",
        "whatIfType",
        "slOrderId",
        "slOrderType",
        "ptOrderId",
        "ptOrderType",
    ]
)
CONTRACT_NOT_ON_WIRE_PLACE = frozenset(
    ["lastTradeDate", "includeExpired", "description", "issuerId", "comboLegsDescrip"]
)
CONTRACT_NOT_ON_WIRE_DETAILS = frozenset(
    ["lastTradeDate", "description", "comboLegsDescrip", "comboLegs", "deltaNeutralContract"]
)


def text_versions(out_id: int, since: int = 0) -> list:
    """The versions at which EClient still sends ``out_id`` as text; the rare ones are slow."""
    until = PROTOBUF_MSG_IDS.get(out_id, 10**6)
    versions = [v for v in VERSIONS if since <= v < until]
    newest = max(versions)
    return [
        pytest.param(
            v, id=f"v{v}", marks=() if v in ALWAYS_RUN or v == newest else pytest.mark.slow
        )
        for v in versions
    ]


@pytest.fixture(scope="module")
def tws():
    pool = SessionPool()
    yield pool
    pool.close()


def roundtrip(tws: SessionPool, version: int, out_id: int, call) -> m.Request:
    msg_id, is_protobuf, body = tws.get(version).request(call)
    assert (msg_id, is_protobuf) == (out_id, False)
    return decode_text_request(version, msg_id, body)


def plain(value):
    """ibapi objects have no __eq__: compare their attribute trees instead."""
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if hasattr(value, "__dict__"):
        return (type(value).__name__, {k: plain(v) for k, v in vars(value).items()})
    return value


def on_wire(obj, not_on_wire: frozenset[str]):
    """A copy of ``obj`` with the attributes the wire does not carry reset to their defaults."""
    expected = copy.deepcopy(obj)
    fresh = type(obj)()
    for name in not_on_wire:
        setattr(expected, name, getattr(fresh, name))
    if isinstance(expected, Order):
        tier = expected.softDollarTier
        expected.softDollarTier = SoftDollarTier(tier.name, tier.val, "")
    return expected


# --------------------------------------------------------------------------- sample orders


def stock(symbol: str = "AAPL", exchange: str = "SMART") -> Contract:
    c = Contract()
    c.symbol, c.secType, c.exchange, c.currency = symbol, "STK", exchange, "USD"
    c.primaryExchange = "NASDAQ" if exchange == "SMART" else ""
    return c


def order(action: str, quantity, order_type: str, **attrs) -> Order:
    o = Order()
    o.action, o.totalQuantity, o.orderType = action, Decimal(str(quantity)), order_type
    for name, value in attrs.items():
        assert hasattr(o, name), name
        setattr(o, name, value)
    return o


def simple_orders(version: int) -> dict[str, tuple[Contract, Order]]:
    return {
        "MKT": (stock(), order("BUY", 100, "MKT")),
        "LMT GTC outsideRth": (
            stock("IBM"),
            order("SELL", 10, "LMT", lmtPrice=149.0, tif="GTC", outsideRth=True),
        ),
        "LMT account orderRef": (
            stock(),
            order("BUY", 5, "LMT", lmtPrice=187.53, account="DU1234567", orderRef="rsi-7"),
        ),
        "STP IOC": (stock("TSLA"), order("SELL", 3, "STP", auxPrice=140.5, tif="IOC")),
        "STP LMT": (stock(), order("BUY", 1, "STP LMT", lmtPrice=141.0, auxPrice=140.0)),
        "TRAIL percent": (
            stock(),
            order("SELL", 20, "TRAIL", trailingPercent=1.5, trailStopPrice=145.0),
        ),
        "TRAIL amount": (stock(), order("SELL", 20, "TRAIL", auxPrice=2.0)),
        "TRAIL LIMIT": (
            stock(),
            order("SELL", 7, "TRAIL LIMIT", auxPrice=1.0, lmtPriceOffset=0.1, trailStopPrice=9.0),
        ),
        "MOC": (stock("SPY"), order("BUY", 2, "MOC")),
        "LOC": (stock("SPY"), order("BUY", 2, "LOC", lmtPrice=600.25)),
        "fractional": (stock(), order("BUY", "0.5", "MKT")),
        "cash quantity": (stock("EUR", "IDEALPRO"), order("BUY", 0, "MKT", cashQty=25000.0)),
        "OCA": (
            stock(),
            order("BUY", 10, "LMT", lmtPrice=150.0, ocaGroup="oca-1", ocaType=2, transmit=False),
        ),
        "FA group": (
            stock(),
            order(
                "BUY",
                100,
                "LMT",
                lmtPrice=150.0,
                faGroup="Group1",
                faMethod="PctChange",
                faPercentage="50",
            ),
        ),
        "adaptive algo": (
            stock(),
            order(
                "BUY",
                100,
                "LMT",
                lmtPrice=150.0,
                algoStrategy="Adaptive",
                algoParams=[TagValue("adaptivePriority", "Normal")],
            ),
        ),
        "unset quantity": (stock(), Order()),
    }


def bracket() -> list[tuple[int, Contract, Order]]:
    parent = order("BUY", 100, "LMT", lmtPrice=150.0, transmit=False, account="DU1234567")
    take_profit = order("SELL", 100, "LMT", lmtPrice=160.0, parentId=100, transmit=False)
    stop_loss = order("SELL", 100, "STP", auxPrice=140.0, parentId=100, transmit=True)
    take_profit.account = stop_loss.account = parent.account
    return [(100, stock(), parent), (101, stock(), take_profit), (102, stock(), stop_loss)]


def _sink_order(version: int, order_type: str) -> Order:
    """An order with (nearly) every attribute the wire carries set to a non-default value."""
    o = order(
        "SSHORT",
        "12.5",
        order_type,
        lmtPrice=1.25,
        auxPrice=0.05,
        tif="GTD",
        ocaGroup="oca-x",
        account="DU1234567",
        openClose="C",
        origin=1,
        orderRef="sink",
        transmit=False,
        parentId=41,
        blockOrder=True,
        sweepToFill=True,
        displaySize=5,
        triggerMethod=2,
        outsideRth=True,
        hidden=True,
        discretionaryAmt=0.1,
        goodAfterTime="20250101 09:30:00 US/Eastern",
        goodTillDate="20251231 16:00:00 US/Eastern",
        faGroup="Group1",
        faMethod="PctChange",
        faPercentage="25",
        modelCode="MODEL1",
        shortSaleSlot=2,
        designatedLocation="LOC1",
        exemptCode=3,
        ocaType=2,
        rule80A="A",
        settlingFirm="FIRM",
        allOrNone=True,
        minQty=3,
        percentOffset=0.02,
        auctionStrategy=2,
        startingPrice=1.1,
        stockRefPrice=450.0,
        delta=0.4,
        stockRangeLower=440.0,
        stockRangeUpper=460.0,
        overridePercentageConstraints=True,
        volatility=0.3,
        volatilityType=2,
        deltaNeutralOrderType="LMT",
        deltaNeutralAuxPrice=0.5,
        deltaNeutralConId=756733,
        deltaNeutralSettlingFirm="DNF",
        deltaNeutralClearingAccount="DNA",
        deltaNeutralClearingIntent="IB",
        deltaNeutralOpenClose="O",
        deltaNeutralShortSale=True,
        deltaNeutralShortSaleSlot=1,
        deltaNeutralDesignatedLocation="DNL",
        continuousUpdate=True,
        referencePriceType=1,
        trailStopPrice=1.0,
        trailingPercent=2.5,
        scaleInitLevelSize=10,
        scaleSubsLevelSize=5,
        scalePriceIncrement=0.05,
        scalePriceAdjustValue=0.01,
        scalePriceAdjustInterval=60,
        scaleProfitOffset=0.1,
        scaleAutoReset=True,
        scaleInitPosition=2,
        scaleInitFillQty=1,
        scaleRandomPercent=True,
        scaleTable="1/2/3",
        activeStartTime="20250101 09:30:00",
        activeStopTime="20250101 16:00:00",
        hedgeType="D",
        hedgeParam="beta=1",
        optOutSmartRouting=True,
        clearingAccount="CA",
        clearingIntent="Away",
        notHeld=True,
        algoStrategy="Vwap",
        algoParams=[TagValue("maxPctVol", "0.1"), TagValue("noTakeLiq", "1")],
        algoId="algo-9",
        whatIf=True,
        orderMiscOptions=[TagValue("a", "1"), TagValue("b", "2")],
        solicited=True,
        randomizeSize=True,
        randomizePrice=True,
        conditions=[
            PriceCondition(2, 265598, "SMART", True, 150.25),
            TimeCondition(False, "20250101 10:00:00 US/Eastern").Or(),
            MarginCondition(True, 30),
            ExecutionCondition("STK", "SMART", "ZZCOND"),
            VolumeCondition(265598, "ISLAND", True, 100000).Or(),
            PercentChangeCondition(265598, "SMART", False, 2.5),
        ],
        conditionsIgnoreRth=True,
        conditionsCancelOrder=True,
        adjustedOrderType="STP LMT",
        triggerPrice=1.5,
        lmtPriceOffset=0.02,
        adjustedStopPrice=1.4,
        adjustedStopLimitPrice=1.35,
        adjustedTrailingAmount=0.1,
        adjustableTrailingUnit=1,
        extOperator="ext-op",
        softDollarTier=SoftDollarTier("tier", "1", "Tier One"),
        cashQty=5000.0,
        mifid2DecisionMaker="dm",
        mifid2DecisionAlgo="da",
        mifid2ExecutionTrader="et",
        mifid2ExecutionAlgo="ea",
        dontUseAutoPriceForHedge=True,
        isOmsContainer=True,
        discretionaryUpToLimitPrice=True,
        usePriceMgmtAlgo=True,
    )
    gated = [
        (MIN_SERVER_VER_DURATION, "duration", 3600),
        (MIN_SERVER_VER_POST_TO_ATS, "postToAts", 1),
        (MIN_SERVER_VER_AUTO_CANCEL_PARENT, "autoCancelParent", True),
        (MIN_SERVER_VER_ADVANCED_ORDER_REJECT, "advancedErrorOverride", "8229"),
        (MIN_SERVER_VER_MANUAL_ORDER_TIME, "manualOrderTime", "20250101-10:00:00"),
        (MIN_SERVER_VER_CUSTOMER_ACCOUNT, "customerAccount", "CUST"),
        (MIN_SERVER_VER_PROFESSIONAL_CUSTOMER, "professionalCustomer", True),
        (MIN_SERVER_VER_INCLUDE_OVERNIGHT, "includeOvernight", True),
        (MIN_SERVER_VER_CME_TAGGING_FIELDS, "manualOrderIndicator", 1),
        (MIN_SERVER_VER_IMBALANCE_ONLY, "imbalanceOnly", True),
    ]
    for since, name, value in gated:
        if version >= since:
            setattr(o, name, value)
    return o


def _option_contract() -> Contract:
    c = Contract()
    c.conId = 12345
    c.symbol, c.secType, c.lastTradeDateOrContractMonth = "SPY", "OPT", "20251219"
    c.strike, c.right, c.multiplier = 450.5, "C", "100"
    c.exchange, c.primaryExchange, c.currency = "SMART", "ARCA", "USD"
    c.localSymbol, c.tradingClass = "SPY   251219C00450500", "SPY"
    c.secIdType, c.secId = "ISIN", "US78462F1030"
    c.deltaNeutralContract = DeltaNeutralContract()
    c.deltaNeutralContract.conId = 756733
    c.deltaNeutralContract.delta = 0.5
    c.deltaNeutralContract.price = 450.25
    return c


def _combo_contract() -> Contract:
    c = Contract()
    c.symbol, c.secType, c.exchange, c.currency = "SPY", "BAG", "SMART", "USD"
    legs = []
    for con_id, action, ratio in ((756733, "BUY", 1), (12345, "SELL", 2)):
        leg = ComboLeg()
        leg.conId, leg.ratio, leg.action, leg.exchange = con_id, ratio, action, "SMART"
        leg.openClose, leg.shortSaleSlot, leg.designatedLocation, leg.exemptCode = 1, 2, "DL", 4
        legs.append(leg)
    c.comboLegs = legs
    return c


def sink_orders(version: int) -> dict[str, tuple[Contract, Order]]:
    sinks = {"sink LMT option": (_option_contract(), _sink_order(version, "LMT"))}
    combo_order = _sink_order(version, "LMT")
    leg_prices = [OrderComboLeg(), OrderComboLeg()]
    leg_prices[0].price = 1.5  # the second stays unset: "" on the wire
    combo_order.orderComboLegs = leg_prices
    combo_order.smartComboRoutingParams = [TagValue("NonGuaranteed", "1")]
    sinks["sink BAG"] = (_combo_contract(), combo_order)
    bench = _sink_order(version, "PEG BENCH")
    bench.referenceContractId = 8314
    bench.isPeggedChangeAmountDecrease = True
    bench.peggedChangeAmount = 0.5
    bench.referenceChangeAmount = 0.25
    bench.referenceExchangeId = "NYSE"
    sinks["sink PEG BENCH"] = (stock(), bench)
    if version >= MIN_SERVER_VER_PEGBEST_PEGMID_OFFSETS:
        best = _sink_order(version, "PEG BEST")
        best.minTradeQty, best.minCompeteSize = 10, 100
        best.competeAgainstBestOffset = COMPETE_AGAINST_BEST_OFFSET_UP_TO_MID
        best.midOffsetAtWhole, best.midOffsetAtHalf = 0.01, 0.005
        sinks["sink PEG BEST up to mid"] = (stock("AAPL", "IBKRATS"), best)
        best_offset = _sink_order(version, "PEG BEST")
        best_offset.minCompeteSize, best_offset.competeAgainstBestOffset = 50, 0.02
        sinks["sink PEG BEST offset"] = (stock("AAPL", "IBKRATS"), best_offset)
        mid = _sink_order(version, "PEG MID")
        mid.midOffsetAtWhole, mid.midOffsetAtHalf = 0.02, 0.01
        sinks["sink PEG MID"] = (stock("AAPL", "IBKRATS"), mid)
    return sinks


def all_orders(version: int) -> dict[str, tuple[Contract, Order]]:
    return simple_orders(version) | sink_orders(version)


ORDER_CASES = sorted(all_orders(max(VERSIONS)))


def order_params():
    return [
        pytest.param(name, *p.values, id=f"{name}-{p.id}", marks=p.marks)
        for name in ORDER_CASES
        for p in text_versions(OUT.PLACE_ORDER)
        if name in all_orders(p.values[0])
    ]


def assert_place_order(decoded, order_id: int, contract: Contract, sent: Order) -> None:
    assert isinstance(decoded, m.PlaceOrder)
    assert decoded.order_id == order_id
    assert plain(decoded.contract) == plain(on_wire(contract, CONTRACT_NOT_ON_WIRE_PLACE))
    assert plain(decoded.order) == plain(on_wire(sent, ORDER_NOT_ON_WIRE))


# --------------------------------------------------------------------------- placeOrder


@pytest.mark.parametrize(("case", "version"), order_params())
def test_place_order_round_trips_every_carried_attribute(tws, case, version):
    contract, sent = all_orders(version)[case]
    decoded = roundtrip(tws, version, OUT.PLACE_ORDER, lambda c: c.placeOrder(42, contract, sent))
    assert_place_order(decoded, 42, contract, sent)


@pytest.mark.parametrize("version", text_versions(OUT.PLACE_ORDER))
def test_bracket_children_keep_parent_and_transmit(tws, version):
    for order_id, contract, sent in bracket():
        decoded = roundtrip(
            tws,
            version,
            OUT.PLACE_ORDER,
            lambda c, i=order_id, k=contract, o=sent: c.placeOrder(i, k, o),
        )
        assert_place_order(decoded, order_id, contract, sent)
        assert (decoded.order.parentId, decoded.order.transmit) == (sent.parentId, sent.transmit)


def test_sample_orders_exercise_every_carried_attribute():
    """If a sample left a carried attribute at its default, a decoder dropping it would pass."""
    version = max(p.values[0] for p in text_versions(OUT.PLACE_ORDER))
    blank_order, blank_contract = plain(Order())[1], plain(Contract())[1]
    touched_order, touched_contract = set(), set()
    for contract, sent in all_orders(version).values():
        touched_order |= {k for k, v in plain(sent)[1].items() if v != blank_order[k]}
        touched_contract |= {k for k, v in plain(contract)[1].items() if v != blank_contract[k]}
    assert set(blank_order) - ORDER_NOT_ON_WIRE - touched_order == set()
    assert set(blank_contract) - CONTRACT_NOT_ON_WIRE_PLACE - touched_contract == set()


def test_unset_values_come_back_unset(tws):
    decoded = roundtrip(tws, 176, OUT.PLACE_ORDER, lambda c: c.placeOrder(1, stock(), Order()))
    o = decoded.order
    assert (o.lmtPrice, o.auxPrice, o.percentOffset, o.cashQty) == (UNSET_DOUBLE,) * 4
    assert (o.minQty, o.volatilityType, o.scaleInitLevelSize) == (Order().minQty,) * 3
    assert o.usePriceMgmtAlgo is None and o.algoParams is None and o.conditions == []
    assert decoded.contract.strike == UNSET_DOUBLE


printable = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=12)


@settings(max_examples=60, deadline=None)
@given(
    version=st.sampled_from([157, 176, 187, 200, 202]),
    quantity=st.decimals(allow_nan=False, allow_infinity=False, places=4),
    price=st.floats(allow_nan=False),
    aux=st.floats(allow_nan=False, allow_infinity=False),
    text=printable,
    flags=st.tuples(st.booleans(), st.booleans(), st.booleans()),
    order_id=st.integers(min_value=0, max_value=2**31 - 1),
)
def test_place_order_round_trips_arbitrary_values(
    tws, version, quantity, price, aux, text, flags, order_id
):
    contract = stock(text or "X")
    sent = order("BUY", quantity, "LMT", lmtPrice=price, auxPrice=aux, orderRef=text)
    sent.account, sent.faGroup, sent.tif = text, text, text
    sent.outsideRth, sent.transmit, sent.hidden = flags
    decoded = roundtrip(
        tws, version, OUT.PLACE_ORDER, lambda c: c.placeOrder(order_id, contract, sent)
    )
    assert_place_order(decoded, order_id, contract, sent)


# --------------------------------------------------------------------------- cancels


@pytest.mark.parametrize("version", text_versions(OUT.CANCEL_ORDER))
def test_cancel_order(tws, version):
    cancel = OrderCancel()
    if version >= MIN_SERVER_VER_MANUAL_ORDER_TIME:
        cancel.manualOrderCancelTime = "20250101-10:00:00"
    if version >= MIN_SERVER_VER_CME_TAGGING_FIELDS:
        cancel.extOperator, cancel.manualOrderIndicator = "op", 0
    decoded = roundtrip(tws, version, OUT.CANCEL_ORDER, lambda c: c.cancelOrder(77, cancel))
    assert isinstance(decoded, m.CancelOrder) and decoded.order_id == 77
    assert plain(decoded.order_cancel) == plain(cancel)


@pytest.mark.parametrize("version", text_versions(OUT.REQ_GLOBAL_CANCEL))
def test_global_cancel(tws, version):
    cancel = OrderCancel()
    cancel.manualOrderCancelTime = "20250101-10:00:00"  # never sent by reqGlobalCancel
    if version >= MIN_SERVER_VER_CME_TAGGING_FIELDS:
        cancel.extOperator, cancel.manualOrderIndicator = "op", 1
    decoded = roundtrip(tws, version, OUT.REQ_GLOBAL_CANCEL, lambda c: c.reqGlobalCancel(cancel))
    assert isinstance(decoded, m.ReqGlobalCancel)
    assert plain(decoded.order_cancel) == plain(
        on_wire(cancel, frozenset({"manualOrderCancelTime"}))
    )


# --------------------------------------------------------------------------- contract details


def detail_contracts(version: int) -> dict[str, Contract]:
    option = _option_contract()
    option.deltaNeutralContract = None
    future = Contract()
    future.symbol, future.secType, future.exchange, future.currency = "ES", "FUT", "CME", "USD"
    future.lastTradeDateOrContractMonth, future.multiplier = "202512", "50"
    future.localSymbol, future.includeExpired = "ESZ5", True
    cash = Contract()
    cash.symbol, cash.secType, cash.exchange, cash.currency = "EUR", "CASH", "IDEALPRO", "USD"
    bond = Contract()
    bond.secType, bond.secIdType, bond.secId, bond.exchange = "BOND", "CUSIP", "912828YK0", "SMART"
    if version >= MIN_SERVER_VER_BOND_ISSUERID:
        bond.issuerId = "e1234567"
    by_con_id = Contract()
    by_con_id.conId = 265598
    by_con_id.strike = 0.0
    return {
        "stock": stock(),
        "option": option,
        "future": future,
        "cash": cash,
        "bond": bond,
        "conId": by_con_id,
    }


@pytest.mark.parametrize("version", text_versions(OUT.REQ_CONTRACT_DATA))
@pytest.mark.parametrize("case", sorted(detail_contracts(max(VERSIONS))))
def test_req_contract_details(tws, version, case):
    contract = detail_contracts(version)[case]
    decoded = roundtrip(
        tws, version, OUT.REQ_CONTRACT_DATA, lambda c: c.reqContractDetails(31, contract)
    )
    assert isinstance(decoded, m.ReqContractDetails) and decoded.req_id == 31
    assert plain(decoded.contract) == plain(on_wire(contract, CONTRACT_NOT_ON_WIRE_DETAILS))


# --------------------------------------------------------------------------- executions


@pytest.mark.parametrize("dates", [None, [20250102, 20250103]], ids=["no-dates", "dates"])
@pytest.mark.parametrize("version", text_versions(OUT.REQ_EXECUTIONS))
def test_req_executions(tws, version, dates):
    flt = ExecutionFilter()
    flt.clientId, flt.acctCode, flt.time = 7, "DU1234567", "20250101-09:30:00"
    flt.symbol, flt.secType, flt.exchange, flt.side = "AAPL", "STK", "SMART", "BUY"
    if version >= MIN_SERVER_VER_PARAMETRIZED_DAYS_OF_EXECUTIONS:
        flt.lastNDays, flt.specificDates = 3, dates
    decoded = roundtrip(tws, version, OUT.REQ_EXECUTIONS, lambda c: c.reqExecutions(12, flt))
    assert isinstance(decoded, m.ReqExecutions) and decoded.req_id == 12
    assert plain(decoded.exec_filter) == plain(flt)


# --------------------------------------------------------------------------- small requests

# Served market data requests: their round trips are in tests/test_sim_market_codec.py.
MARKET_DATA_REQUESTS = {
    OUT.REQ_MKT_DATA,
    OUT.CANCEL_MKT_DATA,
    OUT.REQ_MARKET_DATA_TYPE,
    OUT.REQ_TICK_BY_TICK_DATA,
    OUT.CANCEL_TICK_BY_TICK_DATA,
    OUT.REQ_REAL_TIME_BARS,
    OUT.CANCEL_REAL_TIME_BARS,
}

SMALL_REQUESTS = [
    # (OUT id, min version, EClient call, expected request)
    (OUT.REQ_IDS, 0, lambda c: c.reqIds(5), m.ReqIds(num_ids=5)),
    (OUT.REQ_CURRENT_TIME, 0, lambda c: c.reqCurrentTime(), m.ReqCurrentTime()),
    (
        OUT.REQ_CURRENT_TIME_IN_MILLIS,
        MIN_SERVER_VER_CURRENT_TIME_IN_MILLIS,
        lambda c: c.reqCurrentTimeInMillis(),
        m.ReqCurrentTimeInMillis(),
    ),
    (OUT.REQ_MANAGED_ACCTS, 0, lambda c: c.reqManagedAccts(), m.ReqManagedAccts()),
    (OUT.REQ_MARKET_RULE, 0, lambda c: c.reqMarketRule(26), m.ReqMarketRule(market_rule_id=26)),
    (OUT.REQ_OPEN_ORDERS, 0, lambda c: c.reqOpenOrders(), m.ReqOpenOrders()),
    (OUT.REQ_ALL_OPEN_ORDERS, 0, lambda c: c.reqAllOpenOrders(), m.ReqAllOpenOrders()),
    (OUT.REQ_AUTO_OPEN_ORDERS, 0, lambda c: c.reqAutoOpenOrders(True), m.ReqAutoOpenOrders(True)),
    (
        OUT.REQ_AUTO_OPEN_ORDERS,
        0,
        lambda c: c.reqAutoOpenOrders(False),
        m.ReqAutoOpenOrders(False),
    ),
    (
        OUT.REQ_COMPLETED_ORDERS,
        0,
        lambda c: c.reqCompletedOrders(True),
        m.ReqCompletedOrders(True),
    ),
    (
        OUT.REQ_COMPLETED_ORDERS,
        0,
        lambda c: c.reqCompletedOrders(False),
        m.ReqCompletedOrders(False),
    ),
    (OUT.REQ_POSITIONS, 0, lambda c: c.reqPositions(), m.ReqPositions()),
    (OUT.CANCEL_POSITIONS, 0, lambda c: c.cancelPositions(), m.CancelPositions()),
    (
        OUT.REQ_ACCOUNT_SUMMARY,
        0,
        lambda c: c.reqAccountSummary(9, "All", "NetLiquidation,BuyingPower,$LEDGER"),
        m.ReqAccountSummary(req_id=9, group="All", tags="NetLiquidation,BuyingPower,$LEDGER"),
    ),
    (
        OUT.CANCEL_ACCOUNT_SUMMARY,
        0,
        lambda c: c.cancelAccountSummary(9),
        m.CancelAccountSummary(req_id=9),
    ),
    (
        OUT.REQ_ACCT_DATA,
        0,
        lambda c: c.reqAccountUpdates(True, "DU1234567"),
        m.ReqAccountUpdates(subscribe=True, account="DU1234567"),
    ),
    (
        OUT.REQ_ACCT_DATA,
        0,
        lambda c: c.reqAccountUpdates(False, ""),
        m.ReqAccountUpdates(subscribe=False, account=""),
    ),
]


def small_params():
    return [
        pytest.param(out_id, call, expected, *p.values, id=f"{expected!r}-{p.id}", marks=p.marks)
        for out_id, since, call, expected in SMALL_REQUESTS
        for p in text_versions(out_id, since)
    ]


@pytest.mark.parametrize(("out_id", "call", "expected", "version"), small_params())
def test_small_requests(tws, out_id, call, expected, version):
    assert roundtrip(tws, version, out_id, call) == expected


@pytest.mark.parametrize("version", text_versions(OUT.START_API))
def test_start_api_with_optional_capabilities(version):
    with CaptureSession(version, client_id=23, optional_capabilities="+PACEAPI") as session:
        assert session.handshake_range is not None and session.handshake_range[1] >= version
        msg_id, is_protobuf, body = split_payload(version, session.start_api_payload)
        assert (msg_id, is_protobuf) == (OUT.START_API, False)
        decoded = decode_text_request(version, msg_id, body)
    assert decoded == m.StartApi(client_id=23, optional_capabilities="+PACEAPI")


def test_every_supported_request_has_a_round_trip_test():
    tested = {out_id for out_id, *_ in SMALL_REQUESTS} | {
        OUT.START_API,
        OUT.PLACE_ORDER,
        OUT.CANCEL_ORDER,
        OUT.REQ_GLOBAL_CANCEL,
        OUT.REQ_CONTRACT_DATA,
        OUT.REQ_EXECUTIONS,
    }
    tested |= MARKET_DATA_REQUESTS  # tests/test_sim_market_codec.py
    tested |= HISTORY_REQUESTS  # tests/test_sim_history_codec.py
    tested |= PNL_REQUESTS  # tests/test_sim_pnl.py
    tested |= FA_REQUESTS  # tests/test_sim_fa_codec.py
    assert set(TEXT_DECODERS) == tested


# --------------------------------------------------------------------------- unsupported

REQ = 4242


def _wsh() -> WshEventData:
    data = WshEventData()
    data.conId = 8314
    return data


UNSUPPORTED_CALLS = {
    # OUT id: (min version, call sending reqId REQ)
    OUT.REQ_MKT_DEPTH: (0, lambda c: c.reqMktDepth(REQ, stock(), 5, False, [])),
    OUT.CANCEL_MKT_DEPTH: (0, lambda c: c.cancelMktDepth(REQ, False)),
    OUT.EXERCISE_OPTIONS: (
        0,
        lambda c: c.exerciseOptions(REQ, _option_contract(), 1, 1, "DU1", 0, "", "", False),
    ),
    OUT.REQ_SCANNER_SUBSCRIPTION: (
        0,
        lambda c: c.reqScannerSubscription(REQ, ScannerSubscription(), [], []),
    ),
    OUT.CANCEL_SCANNER_SUBSCRIPTION: (0, lambda c: c.cancelScannerSubscription(REQ)),
    OUT.REQ_FUNDAMENTAL_DATA: (
        0,
        lambda c: c.reqFundamentalData(REQ, stock(), "ReportSnapshot", []),
    ),
    OUT.CANCEL_FUNDAMENTAL_DATA: (0, lambda c: c.cancelFundamentalData(REQ)),
    OUT.REQ_CALC_IMPLIED_VOLAT: (
        0,
        lambda c: c.calculateImpliedVolatility(REQ, _option_contract(), 5.0, 450.0, []),
    ),
    OUT.REQ_CALC_OPTION_PRICE: (
        0,
        lambda c: c.calculateOptionPrice(REQ, _option_contract(), 0.2, 450.0, []),
    ),
    OUT.CANCEL_CALC_IMPLIED_VOLAT: (0, lambda c: c.cancelCalculateImpliedVolatility(REQ)),
    OUT.CANCEL_CALC_OPTION_PRICE: (0, lambda c: c.cancelCalculateOptionPrice(REQ)),
    OUT.QUERY_DISPLAY_GROUPS: (0, lambda c: c.queryDisplayGroups(REQ)),
    OUT.SUBSCRIBE_TO_GROUP_EVENTS: (0, lambda c: c.subscribeToGroupEvents(REQ, 1)),
    OUT.UPDATE_DISPLAY_GROUP: (0, lambda c: c.updateDisplayGroup(REQ, "265598@SMART")),
    OUT.UNSUBSCRIBE_FROM_GROUP_EVENTS: (0, lambda c: c.unsubscribeFromGroupEvents(REQ)),
    OUT.REQ_SEC_DEF_OPT_PARAMS: (0, lambda c: c.reqSecDefOptParams(REQ, "AAPL", "", "STK", 265598)),
    OUT.REQ_SOFT_DOLLAR_TIERS: (0, lambda c: c.reqSoftDollarTiers(REQ)),
    OUT.REQ_MATCHING_SYMBOLS: (0, lambda c: c.reqMatchingSymbols(REQ, "AAP")),
    OUT.REQ_SMART_COMPONENTS: (0, lambda c: c.reqSmartComponents(REQ, "a6")),
    OUT.REQ_NEWS_ARTICLE: (0, lambda c: c.reqNewsArticle(REQ, "BZ", "BZ$1", [])),
    OUT.REQ_HISTORICAL_NEWS: (0, lambda c: c.reqHistoricalNews(REQ, 8314, "BZ", "", "", 10, [])),
    OUT.REQ_HISTOGRAM_DATA: (0, lambda c: c.reqHistogramData(REQ, stock(), True, "3 days")),
    OUT.CANCEL_HISTOGRAM_DATA: (0, lambda c: c.cancelHistogramData(REQ)),
    OUT.REQ_WSH_META_DATA: (MIN_SERVER_VER_WSHE_CALENDAR, lambda c: c.reqWshMetaData(REQ)),
    OUT.CANCEL_WSH_META_DATA: (MIN_SERVER_VER_WSHE_CALENDAR, lambda c: c.cancelWshMetaData(REQ)),
    OUT.REQ_WSH_EVENT_DATA: (
        MIN_SERVER_VER_WSH_EVENT_DATA_FILTERS_DATE,
        lambda c: c.reqWshEventData(REQ, _wsh()),
    ),
    OUT.CANCEL_WSH_EVENT_DATA: (MIN_SERVER_VER_WSHE_CALENDAR, lambda c: c.cancelWshEventData(REQ)),
    OUT.REQ_USER_INFO: (MIN_SERVER_VER_USER_INFO, lambda c: c.reqUserInfo(REQ)),
}


def test_every_req_id_position_is_checked_against_the_client():
    assert set(UNSUPPORTED_CALLS) == set(UNSUPPORTED_REQ_ID_INDEX)


def unsupported_params():
    names = {value: name for name, value in vars(OUT).items() if not name.startswith("_")}
    return [
        pytest.param(out_id, call, *p.values, id=f"{names[out_id]}-{p.id}", marks=p.marks)
        for out_id, (since, call) in UNSUPPORTED_CALLS.items()
        for p in text_versions(out_id, since)
    ]


@pytest.mark.parametrize(("out_id", "call", "version"), unsupported_params())
def test_unsupported_requests_carry_their_req_id(tws, out_id, call, version):
    decoded = roundtrip(tws, version, out_id, call)
    names = {value: name for name, value in vars(OUT).items() if not name.startswith("_")}
    assert decoded == m.Unsupported(msg_id=out_id, req_id=REQ, name=names[out_id])


@pytest.mark.parametrize("version", [176, 200])
def test_unsupported_request_without_req_id(tws, version):
    decoded = roundtrip(tws, version, OUT.REQ_NEWS_BULLETINS, lambda c: c.reqNewsBulletins(True))
    assert decoded == m.Unsupported(
        msg_id=OUT.REQ_NEWS_BULLETINS, req_id=-1, name="REQ_NEWS_BULLETINS"
    )


def test_unknown_message_id_is_unsupported_not_an_error():
    depth = OUT.REQ_MKT_DEPTH
    assert decode_text_request(176, 150, b"1\0abc\0") == m.Unsupported(150, -1, "")
    assert decode_text_request(176, depth, b"") == m.Unsupported(depth, -1, "REQ_MKT_DEPTH")
    assert decode_text_request(176, depth, b"5\0x\0") == m.Unsupported(depth, -1, "REQ_MKT_DEPTH")


# --------------------------------------------------------------------------- malformed input


def _fields(tws, version, call) -> list[bytes]:
    _, _, body = tws.get(version).request(call)
    return body.split(b"\0")[:-1]


def _body(fields: list[bytes]) -> bytes:
    return b"".join(f + b"\0" for f in fields)


@pytest.fixture(scope="module")
def sink_fields(tws) -> list[bytes]:
    contract, sent = sink_orders(176)["sink LMT option"]
    return _fields(tws, 176, lambda c: c.placeOrder(42, contract, sent))


def test_place_order_with_non_numeric_order_id(sink_fields):
    with pytest.raises(ProtocolError, match="integer"):
        decode_text_request(176, OUT.PLACE_ORDER, _body([b"abc", *sink_fields[1:]]))


def test_place_order_truncated_or_padded(sink_fields):
    assert isinstance(decode_text_request(176, OUT.PLACE_ORDER, _body(sink_fields)), m.PlaceOrder)
    with pytest.raises(ProtocolError, match="ended"):
        decode_text_request(176, OUT.PLACE_ORDER, _body(sink_fields[:-1]))
    with pytest.raises(ProtocolError, match="left over"):
        decode_text_request(176, OUT.PLACE_ORDER, _body([*sink_fields, b"1"]))
    with pytest.raises(ProtocolError):
        decode_text_request(176, OUT.PLACE_ORDER, b"")


def test_place_order_decoded_at_the_wrong_version_is_refused(sink_fields):
    with pytest.raises(ProtocolError):
        decode_text_request(200, OUT.PLACE_ORDER, _body(sink_fields))


def test_bad_condition_fields(sink_fields):
    symbol = sink_fields.index(b"ZZCOND")  # ExecutionCondition: type, connector, secType, exch
    bad_type = list(sink_fields)
    bad_type[symbol - 4] = b"99"
    with pytest.raises(ProtocolError, match="condition type 99"):
        decode_text_request(176, OUT.PLACE_ORDER, _body(bad_type))
    bad_connector = list(sink_fields)
    bad_connector[symbol - 3] = b"x"
    with pytest.raises(ProtocolError, match="connector"):
        decode_text_request(176, OUT.PLACE_ORDER, _body(bad_connector))


def test_bad_misc_options(sink_fields):
    bad = [b"junk;" if f == b"a=1;b=2;" else f for f in sink_fields]
    assert bad != sink_fields
    with pytest.raises(ProtocolError, match="misc option"):
        decode_text_request(176, OUT.PLACE_ORDER, _body(bad))


def test_small_requests_reject_non_numeric_fields():
    with pytest.raises(ProtocolError):
        decode_text_request(176, OUT.REQ_IDS, b"x\x005\x00")
    with pytest.raises(ProtocolError):
        decode_text_request(176, OUT.REQ_IDS, b"1\x00five\x00")
    with pytest.raises(ProtocolError):
        decode_text_request(176, OUT.CANCEL_ORDER, b"1\x00\x00")


field_text = st.one_of(
    st.sampled_from(["", "0", "1", "-1", "2", "a", "o", "BAG", "PEG BENCH", "PEG BEST", "1.5"]),
    st.text(max_size=8),
)


@settings(max_examples=300, deadline=None)
@given(
    msg_id=st.sampled_from(sorted(TEXT_DECODERS)),
    version=st.sampled_from(VERSIONS),
    fields=st.lists(field_text, max_size=40),
)
def test_fuzzed_fields_never_crash_otherwise(msg_id, version, fields):
    body = "".join(f + "\0" for f in fields).encode()
    try:
        decoded = decode_text_request(version, msg_id, body)
    except ProtocolError:
        return
    assert isinstance(decoded, m.Request)


@pytest.fixture(scope="module")
def combo_fields(tws) -> dict[int, list[bytes]]:
    captured = {}
    for version in (157, 176, 187, 200):
        contract, sent = sink_orders(version)["sink BAG"]
        captured[version] = _fields(
            tws, version, lambda c, k=contract, o=sent: c.placeOrder(1, k, o)
        )
    return captured


@settings(max_examples=300, deadline=None)
@given(
    index=st.integers(min_value=0),
    replacement=field_text,
    version=st.sampled_from([157, 176, 187, 200]),
)
def test_mutated_real_place_order_never_crashes_otherwise(
    combo_fields, index, replacement, version
):
    fields = list(combo_fields[version])
    fields[index % len(fields)] = replacement.encode()
    with contextlib.suppress(ProtocolError):
        decode_text_request(version, OUT.PLACE_ORDER, _body(fields))


@settings(max_examples=200, deadline=None)
@given(msg_id=st.integers(min_value=0, max_value=300), body=st.binary(max_size=64))
def test_random_bytes_never_crash_otherwise(msg_id, body):
    try:
        decoded = decode_text_request(187, msg_id, body)
    except ProtocolError:
        return
    assert isinstance(decoded, m.Request)
