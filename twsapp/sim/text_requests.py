"""Inbound half of the text codec: the fields ibapi's ``EClient`` writes, read back as TWS reads them.

Each decoder mirrors one ``EClient`` method of ibapi 10.46 at server versions 157..225: the same
fields in the same order, behind the same ``MIN_SERVER_VER_*`` gates. Gates older than 157 are
always open in that range and are not repeated here. Fields the client writes with
``make_field_handle_empty`` (UNSET as "") are read with the ``*_max`` readers so that an unset
value comes back as the unset value the client started from.

A decoder must consume the message exactly: a missing, malformed or surplus field means the
simulator and the client disagree about the layout, which is reported as ``ProtocolError`` rather
than silently mis-reading every later field. The one exception is the server's lenient mode
(``strict=False``): surplus trailing fields are logged and ignored, as real TWS ignores them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from ibapi import order_condition
from ibapi.contract import ComboLeg, Contract, DeltaNeutralContract
from ibapi.execution import ExecutionFilter
from ibapi.message import OUT
from ibapi.order import COMPETE_AGAINST_BEST_OFFSET_UP_TO_MID, Order, OrderComboLeg
from ibapi.order_cancel import OrderCancel
from ibapi.server_versions import (
    MIN_SERVER_VER_ADVANCED_ORDER_REJECT,
    MIN_SERVER_VER_AUTO_CANCEL_PARENT,
    MIN_SERVER_VER_BOND_ISSUERID,
    MIN_SERVER_VER_CME_TAGGING_FIELDS,
    MIN_SERVER_VER_CUSTOMER_ACCOUNT,
    MIN_SERVER_VER_DURATION,
    MIN_SERVER_VER_FA_PROFILE_DESUPPORT,
    MIN_SERVER_VER_IMBALANCE_ONLY,
    MIN_SERVER_VER_INCLUDE_OVERNIGHT,
    MIN_SERVER_VER_MANUAL_ORDER_TIME,
    MIN_SERVER_VER_PARAMETRIZED_DAYS_OF_EXECUTIONS,
    MIN_SERVER_VER_PEGBEST_PEGMID_OFFSETS,
    MIN_SERVER_VER_POST_TO_ATS,
    MIN_SERVER_VER_PROFESSIONAL_CUSTOMER,
    MIN_SERVER_VER_RFQ_FIELDS,
    MIN_SERVER_VER_UNDO_RFQ_FIELDS,
)
from ibapi.softdollartier import SoftDollarTier
from ibapi.tag_value import TagValue
from ibapi.utils import isPegBenchOrder, isPegBestOrder, isPegMidOrder

from twsapp.sim.condition_wire import normalize
from twsapp.sim.messages import (
    CancelAccountSummary,
    CancelAccountUpdatesMulti,
    CancelHeadTimeStamp,
    CancelHistoricalData,
    CancelMktData,
    CancelOrder,
    CancelPnL,
    CancelPnLSingle,
    CancelPositions,
    CancelPositionsMulti,
    CancelRealTimeBars,
    CancelTickByTickData,
    PlaceOrder,
    ReplaceFA,
    ReqAccountSummary,
    ReqAccountUpdates,
    ReqAccountUpdatesMulti,
    ReqAllOpenOrders,
    ReqAutoOpenOrders,
    ReqCompletedOrders,
    ReqContractDetails,
    ReqCurrentTime,
    ReqCurrentTimeInMillis,
    ReqExecutions,
    ReqFA,
    ReqGlobalCancel,
    ReqHeadTimeStamp,
    ReqHistoricalData,
    ReqHistoricalTicks,
    ReqIds,
    ReqManagedAccts,
    ReqMarketDataType,
    ReqMarketRule,
    ReqMktData,
    ReqOpenOrders,
    ReqPnL,
    ReqPnLSingle,
    ReqPositions,
    ReqPositionsMulti,
    ReqRealTimeBars,
    ReqTickByTickData,
    Request,
    StartApi,
    Unsupported,
)
from twsapp.sim.wire import UNSET_DOUBLE, UNSET_INT, Fields, ProtocolError

Decoder = Callable[[Fields, int], Request]

log = logging.getLogger("twsapp.sim")

OUT_NAMES: dict[int, str] = {
    value: name for name, value in vars(OUT).items() if not name.startswith("_")
}


def decode_text_request(version: int, msg_id: int, body: bytes, strict: bool = True) -> Request:
    """Decode one text request (``body`` = the fields after the message id) at ``version``.

    Requests the simulator does not serve come back as ``Unsupported`` (with their reqId when
    the client sends one), never as an error: TWS answers those, it does not drop the client.

    Fields left over after a known request are a layout disagreement: ``strict`` (the codec
    tests) raises ``ProtocolError``; the server passes ``strict=False`` and, like real TWS,
    which reads the fields it knows and ignores the rest, logs a warning and serves the request.
    """
    decoder = TEXT_DECODERS.get(msg_id)
    if decoder is None:
        return decode_unsupported(version, msg_id, body)
    fields = Fields(body)
    request = decoder(fields, version)
    surplus = fields.remaining()
    if surplus:
        problem = (
            f"{OUT_NAMES.get(msg_id, msg_id)} at server version {version}: "
            f"{len(surplus)} field(s) left over after decoding: {surplus[:5]!r}"
        )
        if strict:
            raise ProtocolError(problem)
        log.warning("%s (ignored)", problem)
    return request


# --------------------------------------------------------------------------- unsupported

# Index of the reqId (tickerId) among the fields after the message id, at versions 157..225.
# 1: "VERSION, reqId, ..."; 0: "reqId, ..." (requests that dropped their VERSION field).
UNSUPPORTED_REQ_ID_INDEX: dict[int, int] = {
    OUT.REQ_MKT_DEPTH: 1,
    OUT.CANCEL_MKT_DEPTH: 1,
    OUT.EXERCISE_OPTIONS: 1,
    OUT.REQ_SCANNER_SUBSCRIPTION: 0,
    OUT.CANCEL_SCANNER_SUBSCRIPTION: 1,
    OUT.REQ_FUNDAMENTAL_DATA: 1,
    OUT.CANCEL_FUNDAMENTAL_DATA: 1,
    OUT.REQ_CALC_IMPLIED_VOLAT: 1,
    OUT.REQ_CALC_OPTION_PRICE: 1,
    OUT.CANCEL_CALC_IMPLIED_VOLAT: 1,
    OUT.CANCEL_CALC_OPTION_PRICE: 1,
    OUT.QUERY_DISPLAY_GROUPS: 1,
    OUT.SUBSCRIBE_TO_GROUP_EVENTS: 1,
    OUT.UPDATE_DISPLAY_GROUP: 1,
    OUT.UNSUBSCRIBE_FROM_GROUP_EVENTS: 1,
    OUT.REQ_SEC_DEF_OPT_PARAMS: 0,
    OUT.REQ_SOFT_DOLLAR_TIERS: 0,
    OUT.REQ_MATCHING_SYMBOLS: 0,
    OUT.REQ_SMART_COMPONENTS: 0,
    OUT.REQ_NEWS_ARTICLE: 0,
    OUT.REQ_HISTORICAL_NEWS: 0,
    OUT.REQ_HISTOGRAM_DATA: 0,
    OUT.CANCEL_HISTOGRAM_DATA: 0,
    OUT.REQ_WSH_META_DATA: 0,
    OUT.CANCEL_WSH_META_DATA: 0,
    OUT.REQ_WSH_EVENT_DATA: 0,
    OUT.CANCEL_WSH_EVENT_DATA: 0,
    OUT.REQ_USER_INFO: 0,
}


# Refused requests that carry no reqId at all: their 321 goes to -1. Named, like the index above,
# so that a request the decoder knows nothing about is noticed (tests/test_sim_requests.py).
REQUESTS_WITHOUT_REQ_ID: frozenset[int] = frozenset(
    {
        OUT.REQ_NEWS_BULLETINS,
        OUT.CANCEL_NEWS_BULLETINS,
        OUT.SET_SERVER_LOGLEVEL,
        OUT.REQ_SCANNER_PARAMETERS,
        OUT.VERIFY_REQUEST,
        OUT.VERIFY_MESSAGE,
        OUT.VERIFY_AND_AUTH_REQUEST,
        OUT.VERIFY_AND_AUTH_MESSAGE,
        OUT.REQ_FAMILY_CODES,
        OUT.REQ_MKT_DEPTH_EXCHANGES,
        OUT.REQ_NEWS_PROVIDERS,
    }
)


def decode_unsupported(version: int, msg_id: int, body: bytes) -> Unsupported:
    """Best effort: the reqId lets the server address its error to the right request."""
    req_id = -1
    index = UNSUPPORTED_REQ_ID_INDEX.get(msg_id)
    if index is not None:
        parts = body.split(b"\0")
        if index < len(parts) - 1:  # the last part follows the final NUL terminator
            try:
                req_id = int(parts[index])
            except ValueError:
                req_id = -1
    return Unsupported(msg_id=msg_id, req_id=req_id, name=OUT_NAMES.get(msg_id, ""))


# --------------------------------------------------------------------------- small requests


def _skip(f: Fields, n: int) -> None:
    """Retired fields the client still writes (always empty or unset): read and drop."""
    for _ in range(n):
        f.str()


def _version(f: Fields) -> int:
    """The message's own VERSION field: TWS only checks that it is a number."""
    return f.int()


def _start_api(f: Fields, version: int) -> StartApi:
    _version(f)
    client_id = f.int()
    return StartApi(client_id=client_id, optional_capabilities=f.str())  # OPTIONAL_CAPABILITIES=72


def _req_ids(f: Fields, version: int) -> ReqIds:
    _version(f)
    return ReqIds(num_ids=f.int())


def _req_current_time(f: Fields, version: int) -> ReqCurrentTime:
    _version(f)
    return ReqCurrentTime()


def _req_current_time_in_millis(f: Fields, version: int) -> ReqCurrentTimeInMillis:
    return ReqCurrentTimeInMillis()


def _req_managed_accts(f: Fields, version: int) -> ReqManagedAccts:
    _version(f)
    return ReqManagedAccts()


def _req_market_rule(f: Fields, version: int) -> ReqMarketRule:
    return ReqMarketRule(market_rule_id=f.int())


def _req_open_orders(f: Fields, version: int) -> ReqOpenOrders:
    _version(f)
    return ReqOpenOrders()


def _req_all_open_orders(f: Fields, version: int) -> ReqAllOpenOrders:
    _version(f)
    return ReqAllOpenOrders()


def _req_auto_open_orders(f: Fields, version: int) -> ReqAutoOpenOrders:
    _version(f)
    return ReqAutoOpenOrders(auto_bind=f.bool())


def _req_completed_orders(f: Fields, version: int) -> ReqCompletedOrders:
    return ReqCompletedOrders(api_only=f.bool())


def _req_positions(f: Fields, version: int) -> ReqPositions:
    _version(f)
    return ReqPositions()


def _cancel_positions(f: Fields, version: int) -> CancelPositions:
    _version(f)
    return CancelPositions()


def _req_account_summary(f: Fields, version: int) -> ReqAccountSummary:
    _version(f)
    req_id = f.int()
    group = f.str()
    return ReqAccountSummary(req_id=req_id, group=group, tags=f.str())


def _cancel_account_summary(f: Fields, version: int) -> CancelAccountSummary:
    _version(f)
    return CancelAccountSummary(req_id=f.int())


def _req_account_updates(f: Fields, version: int) -> ReqAccountUpdates:
    _version(f)
    subscribe = f.bool()
    return ReqAccountUpdates(subscribe=subscribe, account=f.str())


def _req_contract_details(f: Fields, version: int) -> ReqContractDetails:
    _version(f)
    req_id = f.int()
    c = Contract()
    c.conId = f.int()
    c.symbol = f.str()
    c.secType = f.str()
    c.lastTradeDateOrContractMonth = f.str()
    c.strike = f.float_max()
    c.right = f.str()
    c.multiplier = f.str()
    c.exchange = f.str()
    c.primaryExchange = f.str()
    c.currency = f.str()
    c.localSymbol = f.str()
    c.tradingClass = f.str()
    c.includeExpired = f.bool()
    c.secIdType = f.str()
    c.secId = f.str()
    if version >= MIN_SERVER_VER_BOND_ISSUERID:
        c.issuerId = f.str()
    return ReqContractDetails(req_id=req_id, contract=c)


def _req_executions(f: Fields, version: int) -> ReqExecutions:
    _version(f)
    req_id = f.int()
    flt = ExecutionFilter()
    flt.clientId = f.int()
    flt.acctCode = f.str()
    flt.time = f.str()
    flt.symbol = f.str()
    flt.secType = f.str()
    flt.exchange = f.str()
    flt.side = f.str()
    if version >= MIN_SERVER_VER_PARAMETRIZED_DAYS_OF_EXECUTIONS:
        flt.lastNDays = f.int_max()
        count = _count(f, "specificDates")
        if count:  # the client writes 0 for both None and []; None is its default
            flt.specificDates = [f.int() for _ in range(count)]
    return ReqExecutions(req_id=req_id, exec_filter=flt)


def _cancel_order(f: Fields, version: int) -> CancelOrder:
    if version < MIN_SERVER_VER_CME_TAGGING_FIELDS:
        _version(f)
    order_id = f.int()
    cancel = OrderCancel()
    if version >= MIN_SERVER_VER_MANUAL_ORDER_TIME:
        cancel.manualOrderCancelTime = f.str()
    if MIN_SERVER_VER_RFQ_FIELDS <= version < MIN_SERVER_VER_UNDO_RFQ_FIELDS:
        _skip(f, 3)  # short-lived RFQ fields, always sent empty / unset
    if version >= MIN_SERVER_VER_CME_TAGGING_FIELDS:
        cancel.extOperator = f.str()
        cancel.manualOrderIndicator = f.int_max()
    return CancelOrder(order_id=order_id, order_cancel=cancel)


def _req_global_cancel(f: Fields, version: int) -> ReqGlobalCancel:
    cancel = OrderCancel()
    if version < MIN_SERVER_VER_CME_TAGGING_FIELDS:
        _version(f)
    else:
        cancel.extOperator = f.str()
        cancel.manualOrderIndicator = f.int_max()
    return ReqGlobalCancel(order_cancel=cancel)


# --------------------------------------------------------------------------- market data


def _read_data_contract(f: Fields, c: Contract) -> None:
    """The contract fields every market data request writes (conId through tradingClass)."""
    c.conId = f.int()
    c.symbol = f.str()
    c.secType = f.str()
    c.lastTradeDateOrContractMonth = f.str()
    c.strike = f.float_max()
    c.right = f.str()
    c.multiplier = f.str()
    c.exchange = f.str()
    c.primaryExchange = f.str()
    c.currency = f.str()
    c.localSymbol = f.str()
    c.tradingClass = f.str()


def _req_mkt_data(f: Fields, version: int) -> ReqMktData:
    _version(f)
    req_id = f.int()
    c = Contract()
    _read_data_contract(f, c)
    if c.secType == "BAG":
        legs = []
        for _ in range(_count(f, "combo leg")):
            leg = ComboLeg()
            leg.conId, leg.ratio, leg.action, leg.exchange = f.int(), f.int(), f.str(), f.str()
            legs.append(leg)
        if legs:
            c.comboLegs = legs
    _read_delta_neutral_contract(f, c)
    generic_ticks = f.str()
    snapshot = f.bool()
    regulatory = f.bool()
    f.str()  # mktDataOptions: "for internal use only", always sent empty
    return ReqMktData(req_id, c, generic_ticks, snapshot, regulatory)


def _cancel_mkt_data(f: Fields, version: int) -> CancelMktData:
    _version(f)
    return CancelMktData(req_id=f.int())


def _req_market_data_type(f: Fields, version: int) -> ReqMarketDataType:
    _version(f)
    return ReqMarketDataType(market_data_type=f.int())


def _req_tick_by_tick_data(f: Fields, version: int) -> ReqTickByTickData:
    req_id = f.int()  # no VERSION field
    c = Contract()
    _read_data_contract(f, c)
    tick_type = f.str()
    number_of_ticks = f.int()
    return ReqTickByTickData(req_id, c, tick_type, number_of_ticks, f.bool())


def _cancel_tick_by_tick_data(f: Fields, version: int) -> CancelTickByTickData:
    return CancelTickByTickData(req_id=f.int())


def _req_real_time_bars(f: Fields, version: int) -> ReqRealTimeBars:
    _version(f)
    req_id = f.int()
    c = Contract()
    _read_data_contract(f, c)
    bar_size = f.int()
    what_to_show = f.str()
    use_rth = f.bool()
    f.str()  # realTimeBarsOptions: "for internal use only"
    return ReqRealTimeBars(req_id, c, bar_size, what_to_show, use_rth)


def _cancel_real_time_bars(f: Fields, version: int) -> CancelRealTimeBars:
    _version(f)
    return CancelRealTimeBars(req_id=f.int())


# --------------------------------------------------------------------------- history
# The client's gates for these (SYNT_REALTIME_BARS 124 drops reqHistoricalData's VERSION and
# adds keepUpToDate, TRADING_CLASS 68, LINKING 70, REQ_HEAD_TIMESTAMP 118, HISTORICAL_TICKS 130)
# are all open from 157.


def _read_history_contract(f: Fields) -> Contract:
    c = Contract()
    _read_data_contract(f, c)
    c.includeExpired = f.bool()
    return c


def _req_historical_data(f: Fields, version: int) -> ReqHistoricalData:
    req_id = f.int()
    c = _read_history_contract(f)
    end, bar_size, duration = f.str(), f.str(), f.str()
    use_rth = f.bool()
    what_to_show = f.str()
    format_date = f.int()
    if c.secType == "BAG":
        legs = []
        for _ in range(_count(f, "combo leg")):
            leg = ComboLeg()
            leg.conId, leg.ratio, leg.action, leg.exchange = f.int(), f.int(), f.str(), f.str()
            legs.append(leg)
        if legs:
            c.comboLegs = legs
    keep_up_to_date = f.bool()
    f.str()  # chartOptions: "for internal use only"
    return ReqHistoricalData(
        req_id, c, end, duration, bar_size, what_to_show, use_rth, format_date, keep_up_to_date
    )


def _cancel_historical_data(f: Fields, version: int) -> CancelHistoricalData:
    _version(f)
    return CancelHistoricalData(req_id=f.int())


def _req_head_timestamp(f: Fields, version: int) -> ReqHeadTimeStamp:
    req_id = f.int()
    c = _read_history_contract(f)
    use_rth = f.bool()
    what_to_show = f.str()
    return ReqHeadTimeStamp(req_id, c, what_to_show, use_rth, f.int())


def _cancel_head_timestamp(f: Fields, version: int) -> CancelHeadTimeStamp:
    return CancelHeadTimeStamp(req_id=f.int())


def _req_historical_ticks(f: Fields, version: int) -> ReqHistoricalTicks:
    req_id = f.int()
    c = _read_history_contract(f)
    start, end = f.str(), f.str()
    number_of_ticks = f.int()
    what_to_show = f.str()
    use_rth = f.bool()
    ignore_size = f.bool()
    f.str()  # miscOptions: "for internal use only"
    return ReqHistoricalTicks(
        req_id, c, start, end, number_of_ticks, what_to_show, use_rth, ignore_size
    )


# --------------------------------------------------------------------------- P&L
# No VERSION field; the client's MIN_SERVER_VER_PNL gate (127) is always open from 157.


def _req_pnl(f: Fields, version: int) -> ReqPnL:
    req_id = f.int()
    account = f.str()
    return ReqPnL(req_id=req_id, account=account, model_code=f.str())


def _cancel_pnl(f: Fields, version: int) -> CancelPnL:
    return CancelPnL(req_id=f.int())


def _req_pnl_single(f: Fields, version: int) -> ReqPnLSingle:
    req_id = f.int()
    account = f.str()
    model_code = f.str()
    return ReqPnLSingle(req_id=req_id, account=account, model_code=model_code, con_id=f.int())


def _cancel_pnl_single(f: Fields, version: int) -> CancelPnLSingle:
    return CancelPnLSingle(req_id=f.int())


# --------------------------------------------------------------------------- advisor accounts
# Each still writes a VERSION field first; the models gate (103) is open from 157, and so is
# REPLACE_FA_END (157), which appends replaceFA's reqId.


def _req_fa(f: Fields, version: int) -> ReqFA:
    _version(f)
    return ReqFA(fa_data_type=f.int())


def _replace_fa(f: Fields, version: int) -> ReplaceFA:
    _version(f)
    fa_data_type = f.int()
    xml = f.str()
    return ReplaceFA(req_id=f.int(), fa_data_type=fa_data_type, xml=xml)


def _req_account_updates_multi(f: Fields, version: int) -> ReqAccountUpdatesMulti:
    _version(f)
    req_id = f.int()
    account, model_code = f.str(), f.str()
    return ReqAccountUpdatesMulti(req_id, account, model_code, f.bool())


def _cancel_account_updates_multi(f: Fields, version: int) -> CancelAccountUpdatesMulti:
    _version(f)
    return CancelAccountUpdatesMulti(req_id=f.int())


def _req_positions_multi(f: Fields, version: int) -> ReqPositionsMulti:
    _version(f)
    req_id = f.int()
    account = f.str()
    return ReqPositionsMulti(req_id, account, f.str())


def _cancel_positions_multi(f: Fields, version: int) -> CancelPositionsMulti:
    _version(f)
    return CancelPositionsMulti(req_id=f.int())


# --------------------------------------------------------------------------- placeOrder


def _count(f: Fields, what: str) -> int:
    n = f.int()
    if n < 0:
        raise ProtocolError(f"negative {what} count {n}")
    return n


def _tag_values(f: Fields, what: str) -> list[TagValue] | None:
    """A counted tag/value list; an empty one stays None, as ibapi's own decoder leaves it."""
    count = _count(f, what)
    if not count:
        return None
    return [TagValue(f.str(), f.str()) for _ in range(count)]


def _misc_options(text: str) -> list[TagValue] | None:
    """orderMiscOptions travel as one "tag=value;tag=value;" field."""
    if not text:
        return None
    options = []
    for item in text.split(";"):
        if not item:
            continue
        tag, sep, value = item.partition("=")
        if not sep:
            raise ProtocolError(f"order misc option {item!r} is not tag=value")
        options.append(TagValue(tag, value))
    return options or None


def _place_order(f: Fields, version: int) -> PlaceOrder:
    order_id = f.int()  # no VERSION field since ORDER_CONTAINER (145)
    contract, order = Contract(), Order()
    _read_order_contract(f, contract)
    _read_main_order_fields(f, order)
    if contract.secType == "BAG":
        _read_combo(f, contract, order)
    _read_allocation(f, version, order)
    _read_short_sale_and_auction(f, order)
    _read_delta_neutral_order(f, order)
    _read_scale_and_hedge(f, order)
    _read_delta_neutral_contract(f, contract)
    _read_algo_and_flags(f, order)
    _read_peg_bench_and_conditions(f, order)
    _read_adjusted(f, order)
    _read_late_additions(f, version, contract, order)
    return PlaceOrder(order_id=order_id, contract=contract, order=order)


def _read_order_contract(f: Fields, c: Contract) -> None:
    _read_data_contract(f, c)  # the same fields, then the security id
    c.secIdType = f.str()
    c.secId = f.str()


def _read_main_order_fields(f: Fields, o: Order) -> None:
    o.action = f.str()
    o.totalQuantity = f.decimal()
    o.orderType = f.str()
    o.lmtPrice = f.float_max()
    o.auxPrice = f.float_max()
    o.tif = f.str()
    o.ocaGroup = f.str()
    o.account = f.str()
    o.openClose = f.str()
    o.origin = f.int()
    o.orderRef = f.str()
    o.transmit = f.bool()
    o.parentId = f.int()
    o.blockOrder = f.bool()
    o.sweepToFill = f.bool()
    o.displaySize = f.int()
    o.triggerMethod = f.int()
    o.outsideRth = f.bool()
    o.hidden = f.bool()


def _read_combo(f: Fields, c: Contract, o: Order) -> None:
    legs = []
    for _ in range(_count(f, "combo leg")):
        leg = ComboLeg()
        leg.conId = f.int()
        leg.ratio = f.int()
        leg.action = f.str()
        leg.exchange = f.str()
        leg.openClose = f.int()
        leg.shortSaleSlot = f.int()
        leg.designatedLocation = f.str()
        leg.exemptCode = f.int()
        legs.append(leg)
    if legs:
        c.comboLegs = legs
    prices = []
    for _ in range(_count(f, "order combo leg")):
        leg_price = OrderComboLeg()
        leg_price.price = f.float_max()
        prices.append(leg_price)
    o.orderComboLegs = prices or None
    o.smartComboRoutingParams = _tag_values(f, "smart combo routing param")


def _read_allocation(f: Fields, version: int, o: Order) -> None:
    _skip(f, 1)  # deprecated sharesAllocation, always empty
    o.discretionaryAmt = f.float()
    o.goodAfterTime = f.str()
    o.goodTillDate = f.str()
    o.faGroup = f.str()
    o.faMethod = f.str()
    o.faPercentage = f.str()
    if version < MIN_SERVER_VER_FA_PROFILE_DESUPPORT:
        _skip(f, 1)  # deprecated faProfile, always empty
    o.modelCode = f.str()


def _read_short_sale_and_auction(f: Fields, o: Order) -> None:
    o.shortSaleSlot = f.int()
    o.designatedLocation = f.str()
    o.exemptCode = f.int()
    o.ocaType = f.int()
    o.rule80A = f.str()
    o.settlingFirm = f.str()
    o.allOrNone = f.bool()
    o.minQty = f.int_max()
    o.percentOffset = f.float_max()
    _skip(f, 3)  # retired eTradeOnly, firmQuoteOnly, nbboPriceCap
    o.auctionStrategy = f.int()
    o.startingPrice = f.float_max()
    o.stockRefPrice = f.float_max()
    o.delta = f.float_max()
    o.stockRangeLower = f.float_max()
    o.stockRangeUpper = f.float_max()
    o.overridePercentageConstraints = f.bool()
    o.volatility = f.float_max()
    o.volatilityType = f.int_max()


def _read_delta_neutral_order(f: Fields, o: Order) -> None:
    o.deltaNeutralOrderType = f.str()
    o.deltaNeutralAuxPrice = f.float_max()
    if o.deltaNeutralOrderType:
        o.deltaNeutralConId = f.int()
        o.deltaNeutralSettlingFirm = f.str()
        o.deltaNeutralClearingAccount = f.str()
        o.deltaNeutralClearingIntent = f.str()
        o.deltaNeutralOpenClose = f.str()
        o.deltaNeutralShortSale = f.bool()
        o.deltaNeutralShortSaleSlot = f.int()
        o.deltaNeutralDesignatedLocation = f.str()
    o.continuousUpdate = f.bool()
    o.referencePriceType = f.int_max()
    o.trailStopPrice = f.float_max()
    o.trailingPercent = f.float_max()


def _read_scale_and_hedge(f: Fields, o: Order) -> None:
    o.scaleInitLevelSize = f.int_max()
    o.scaleSubsLevelSize = f.int_max()
    o.scalePriceIncrement = f.float_max()
    if o.scalePriceIncrement != UNSET_DOUBLE and o.scalePriceIncrement > 0.0:
        o.scalePriceAdjustValue = f.float_max()
        o.scalePriceAdjustInterval = f.int_max()
        o.scaleProfitOffset = f.float_max()
        o.scaleAutoReset = f.bool()
        o.scaleInitPosition = f.int_max()
        o.scaleInitFillQty = f.int_max()
        o.scaleRandomPercent = f.bool()
    o.scaleTable = f.str()
    o.activeStartTime = f.str()
    o.activeStopTime = f.str()
    o.hedgeType = f.str()
    if o.hedgeType:
        o.hedgeParam = f.str()
    o.optOutSmartRouting = f.bool()
    o.clearingAccount = f.str()
    o.clearingIntent = f.str()
    o.notHeld = f.bool()


def _read_delta_neutral_contract(f: Fields, c: Contract) -> None:
    if f.bool():
        dnc = DeltaNeutralContract()
        dnc.conId = f.int()
        dnc.delta = f.float()
        dnc.price = f.float()
        c.deltaNeutralContract = dnc


def _read_algo_and_flags(f: Fields, o: Order) -> None:
    o.algoStrategy = f.str()
    if o.algoStrategy:
        o.algoParams = _tag_values(f, "algo param")
    o.algoId = f.str()
    o.whatIf = f.bool()
    o.orderMiscOptions = _misc_options(f.str())
    o.solicited = f.bool()
    o.randomizeSize = f.bool()
    o.randomizePrice = f.bool()


def _read_peg_bench_and_conditions(f: Fields, o: Order) -> None:
    if isPegBenchOrder(o.orderType):
        o.referenceContractId = f.int()
        o.isPeggedChangeAmountDecrease = f.bool()
        o.peggedChangeAmount = f.float()
        o.referenceChangeAmount = f.float()
        o.referenceExchangeId = f.str()
    count = _count(f, "condition")
    if count:
        o.conditions = [_read_condition(f) for _ in range(count)]
        o.conditionsIgnoreRth = f.bool()
        o.conditionsCancelOrder = f.bool()


def _read_condition(f: Fields) -> order_condition.OrderCondition:
    cond_type = f.int()
    cond = order_condition.Create(cond_type)
    if cond is None:
        raise ProtocolError(f"unknown order condition type {cond_type}")
    connector = f.str()
    if connector not in ("a", "o"):
        raise ProtocolError(f"order condition connector {connector!r} is neither 'a' nor 'o'")
    cond.isConjunctionConnection = connector == "a"
    if isinstance(cond, order_condition.ExecutionCondition):
        cond.secType = f.str()
        cond.exchange = f.str()
        cond.symbol = f.str()
    if isinstance(cond, order_condition.OperatorCondition):
        cond.isMore = f.bool()
        text = f.str()
        try:
            cond.setValueFromString(text)
        except ValueError:
            raise ProtocolError(f"bad value {text!r} for condition type {cond_type}") from None
    if isinstance(cond, order_condition.ContractCondition):
        cond.conId = f.int()
        cond.exchange = f.str()
    if isinstance(cond, order_condition.PriceCondition):
        cond.triggerMethod = f.int()
    normalize(cond)
    return cond


def _read_adjusted(f: Fields, o: Order) -> None:
    o.adjustedOrderType = f.str()
    o.triggerPrice = f.float_max()
    o.lmtPriceOffset = f.float_max()
    o.adjustedStopPrice = f.float_max()
    o.adjustedStopLimitPrice = f.float_max()
    o.adjustedTrailingAmount = f.float_max()
    o.adjustableTrailingUnit = f.int()


def _read_late_additions(f: Fields, version: int, c: Contract, o: Order) -> None:
    o.extOperator = f.str()
    o.softDollarTier = SoftDollarTier(f.str(), f.str(), "")
    o.cashQty = f.float_max()
    o.mifid2DecisionMaker = f.str()
    o.mifid2DecisionAlgo = f.str()
    o.mifid2ExecutionTrader = f.str()
    o.mifid2ExecutionAlgo = f.str()
    o.dontUseAutoPriceForHedge = f.bool()
    o.isOmsContainer = f.bool()
    o.discretionaryUpToLimitPrice = f.bool()
    use_price_mgmt = f.int_max()
    o.usePriceMgmtAlgo = None if use_price_mgmt == UNSET_INT else bool(use_price_mgmt)
    if version >= MIN_SERVER_VER_DURATION:
        o.duration = f.int_max()
    if version >= MIN_SERVER_VER_POST_TO_ATS:
        o.postToAts = f.int_max()
    if version >= MIN_SERVER_VER_AUTO_CANCEL_PARENT:
        o.autoCancelParent = f.bool()
    if version >= MIN_SERVER_VER_ADVANCED_ORDER_REJECT:
        o.advancedErrorOverride = f.str()
    if version >= MIN_SERVER_VER_MANUAL_ORDER_TIME:
        o.manualOrderTime = f.str()
    if version >= MIN_SERVER_VER_PEGBEST_PEGMID_OFFSETS:
        _read_peg_best_mid(f, c, o)
    if version >= MIN_SERVER_VER_CUSTOMER_ACCOUNT:
        o.customerAccount = f.str()
    if version >= MIN_SERVER_VER_PROFESSIONAL_CUSTOMER:
        o.professionalCustomer = f.bool()
    if MIN_SERVER_VER_RFQ_FIELDS <= version < MIN_SERVER_VER_UNDO_RFQ_FIELDS:
        _skip(f, 2)  # short-lived RFQ fields, always sent empty / unset
    if version >= MIN_SERVER_VER_INCLUDE_OVERNIGHT:
        o.includeOvernight = f.bool()
    if version >= MIN_SERVER_VER_CME_TAGGING_FIELDS:
        o.manualOrderIndicator = f.int_max()
    if version >= MIN_SERVER_VER_IMBALANCE_ONLY:
        o.imbalanceOnly = f.bool()


def _read_peg_best_mid(f: Fields, c: Contract, o: Order) -> None:
    if c.exchange == "IBKRATS":
        o.minTradeQty = f.int_max()
    send_mid_offsets = False
    if isPegBestOrder(o.orderType):
        o.minCompeteSize = f.int_max()
        o.competeAgainstBestOffset = f.float_max()
        send_mid_offsets = o.competeAgainstBestOffset == COMPETE_AGAINST_BEST_OFFSET_UP_TO_MID
    elif isPegMidOrder(o.orderType):
        send_mid_offsets = True
    if send_mid_offsets:
        o.midOffsetAtWhole = f.float_max()
        o.midOffsetAtHalf = f.float_max()


# --------------------------------------------------------------------------- table

TEXT_DECODERS: dict[int, Decoder] = {
    OUT.START_API: _start_api,
    OUT.REQ_IDS: _req_ids,
    OUT.REQ_CURRENT_TIME: _req_current_time,
    OUT.REQ_CURRENT_TIME_IN_MILLIS: _req_current_time_in_millis,
    OUT.REQ_MANAGED_ACCTS: _req_managed_accts,
    OUT.REQ_CONTRACT_DATA: _req_contract_details,
    OUT.REQ_MARKET_RULE: _req_market_rule,
    OUT.PLACE_ORDER: _place_order,
    OUT.CANCEL_ORDER: _cancel_order,
    OUT.REQ_GLOBAL_CANCEL: _req_global_cancel,
    OUT.REQ_OPEN_ORDERS: _req_open_orders,
    OUT.REQ_ALL_OPEN_ORDERS: _req_all_open_orders,
    OUT.REQ_AUTO_OPEN_ORDERS: _req_auto_open_orders,
    OUT.REQ_COMPLETED_ORDERS: _req_completed_orders,
    OUT.REQ_EXECUTIONS: _req_executions,
    OUT.REQ_POSITIONS: _req_positions,
    OUT.CANCEL_POSITIONS: _cancel_positions,
    OUT.REQ_ACCOUNT_SUMMARY: _req_account_summary,
    OUT.CANCEL_ACCOUNT_SUMMARY: _cancel_account_summary,
    OUT.REQ_ACCT_DATA: _req_account_updates,
    OUT.REQ_MKT_DATA: _req_mkt_data,
    OUT.CANCEL_MKT_DATA: _cancel_mkt_data,
    OUT.REQ_MARKET_DATA_TYPE: _req_market_data_type,
    OUT.REQ_TICK_BY_TICK_DATA: _req_tick_by_tick_data,
    OUT.CANCEL_TICK_BY_TICK_DATA: _cancel_tick_by_tick_data,
    OUT.REQ_REAL_TIME_BARS: _req_real_time_bars,
    OUT.CANCEL_REAL_TIME_BARS: _cancel_real_time_bars,
    OUT.REQ_HISTORICAL_DATA: _req_historical_data,
    OUT.CANCEL_HISTORICAL_DATA: _cancel_historical_data,
    OUT.REQ_HEAD_TIMESTAMP: _req_head_timestamp,
    OUT.CANCEL_HEAD_TIMESTAMP: _cancel_head_timestamp,
    OUT.REQ_HISTORICAL_TICKS: _req_historical_ticks,
    OUT.REQ_PNL: _req_pnl,
    OUT.CANCEL_PNL: _cancel_pnl,
    OUT.REQ_PNL_SINGLE: _req_pnl_single,
    OUT.CANCEL_PNL_SINGLE: _cancel_pnl_single,
    OUT.REQ_FA: _req_fa,
    OUT.REPLACE_FA: _replace_fa,
    OUT.REQ_ACCOUNT_UPDATES_MULTI: _req_account_updates_multi,
    OUT.CANCEL_ACCOUNT_UPDATES_MULTI: _cancel_account_updates_multi,
    OUT.REQ_POSITIONS_MULTI: _req_positions_multi,
    OUT.CANCEL_POSITIONS_MULTI: _cancel_positions_multi,
}
