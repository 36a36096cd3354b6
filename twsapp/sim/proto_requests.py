"""Inbound protobuf codec: the requests EClient sends as protobuf, as the simulator's Requests.

EClient switches a request to protobuf once the server version reaches that request's entry in
``ibapi.common.PROTOBUF_MSG_IDS``, and fills it with ``client_utils.create*Proto``: a field is
present only when the client's value is set (not ibapi's unset marker, not empty, not False). So
an absent field decodes to the ibapi default, with one exception: ``Order.transmit`` defaults to
True, and the client leaves it out exactly when it is False.

ibapi's own ``decoder_utils.decodeOrder`` / ``decodeContract`` read the *response* field sets (no
transmit, secId, includeExpired, algoId, mifid2*, ...), so the request objects are rebuilt here;
only the soft-dollar tier uses ibapi's helper, whose field set matches (the conditions are read
by ``condition_wire``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from decimal import Decimal
from typing import TypeVar

from google.protobuf.message import DecodeError
from google.protobuf.message import Message as ProtoMessage
from ibapi.contract import ComboLeg, Contract, DeltaNeutralContract
from ibapi.decoder_utils import decodeSoftDollarTier
from ibapi.execution import ExecutionFilter
from ibapi.message import OUT
from ibapi.order import Order, OrderComboLeg
from ibapi.order_cancel import OrderCancel
from ibapi.tag_value import TagValue

from twsapp.sim import messages as m
from twsapp.sim.condition_wire import conditions_from_proto
from twsapp.sim.wire import ProtocolError

T = TypeVar("T")

# Same-named fields createContractProto writes.
_CONTRACT_FIELDS = (
    "conId",
    "symbol",
    "secType",
    "lastTradeDateOrContractMonth",
    "lastTradeDate",
    "strike",
    "right",
    "exchange",
    "currency",
    "localSymbol",
    "tradingClass",
    "secIdType",
    "secId",
    "includeExpired",
    "comboLegsDescrip",
    "description",
    "issuerId",
)
# Same-named fields createOrderProto writes (transmit, quantities and flags are handled apart).
_ORDER_FIELDS = (
    "clientId",
    "permId",
    "parentId",
    "action",
    "displaySize",
    "orderType",
    "lmtPrice",
    "auxPrice",
    "tif",
    "account",
    "settlingFirm",
    "clearingAccount",
    "clearingIntent",
    "allOrNone",
    "blockOrder",
    "hidden",
    "outsideRth",
    "sweepToFill",
    "percentOffset",
    "trailingPercent",
    "trailStopPrice",
    "minQty",
    "goodAfterTime",
    "goodTillDate",
    "ocaGroup",
    "orderRef",
    "rule80A",
    "ocaType",
    "triggerMethod",
    "activeStartTime",
    "activeStopTime",
    "faGroup",
    "faMethod",
    "faPercentage",
    "volatility",
    "volatilityType",
    "continuousUpdate",
    "referencePriceType",
    "deltaNeutralOrderType",
    "deltaNeutralAuxPrice",
    "deltaNeutralConId",
    "deltaNeutralOpenClose",
    "deltaNeutralShortSale",
    "deltaNeutralShortSaleSlot",
    "deltaNeutralDesignatedLocation",
    "scaleInitLevelSize",
    "scaleSubsLevelSize",
    "scalePriceIncrement",
    "scalePriceAdjustValue",
    "scalePriceAdjustInterval",
    "scaleProfitOffset",
    "scaleAutoReset",
    "scaleInitPosition",
    "scaleInitFillQty",
    "scaleRandomPercent",
    "scaleTable",
    "hedgeType",
    "hedgeParam",
    "hedgeMaxSize",
    "algoStrategy",
    "algoId",
    "whatIf",
    "overridePercentageConstraints",
    "openClose",
    "origin",
    "shortSaleSlot",
    "designatedLocation",
    "exemptCode",
    "deltaNeutralSettlingFirm",
    "deltaNeutralClearingAccount",
    "deltaNeutralClearingIntent",
    "discretionaryAmt",
    "optOutSmartRouting",
    "startingPrice",
    "stockRefPrice",
    "delta",
    "stockRangeLower",
    "stockRangeUpper",
    "notHeld",
    "solicited",
    "randomizeSize",
    "randomizePrice",
    "referenceContractId",
    "peggedChangeAmount",
    "isPeggedChangeAmountDecrease",
    "referenceChangeAmount",
    "referenceExchangeId",
    "adjustedOrderType",
    "triggerPrice",
    "adjustedStopPrice",
    "adjustedStopLimitPrice",
    "adjustedTrailingAmount",
    "adjustableTrailingUnit",
    "lmtPriceOffset",
    "conditionsCancelOrder",
    "conditionsIgnoreRth",
    "modelCode",
    "extOperator",
    "cashQty",
    "mifid2DecisionMaker",
    "mifid2DecisionAlgo",
    "mifid2ExecutionTrader",
    "mifid2ExecutionAlgo",
    "dontUseAutoPriceForHedge",
    "isOmsContainer",
    "discretionaryUpToLimitPrice",
    "duration",
    "postToAts",
    "advancedErrorOverride",
    "manualOrderTime",
    "minTradeQty",
    "minCompeteSize",
    "competeAgainstBestOffset",
    "midOffsetAtWhole",
    "midOffsetAtHalf",
    "customerAccount",
    "professionalCustomer",
    "bondAccruedInterest",
    "includeOvernight",
    "manualOrderIndicator",
    "submitter",
    "autoCancelParent",
    "imbalanceOnly",
    "postOnly",
    "allowPreOpen",
    "ignoreOpenAuction",
    "deactivate",
    "whatIfType",
)
_ORDER_TRISTATES = ("usePriceMgmtAlgo", "seekPriceImprovement", "routeMarketableToBbo")
_ORDER_TAG_LISTS = ("algoParams", "smartComboRoutingParams", "orderMiscOptions")
_FILTER_FIELDS = ("clientId", "acctCode", "time", "symbol", "secType", "exchange", "side")


def _proto(name: str) -> type[ProtoMessage]:
    module = importlib.import_module(f"ibapi.protobuf.{name}_pb2")
    return getattr(module, name)


def _parse(name: str, data: bytes) -> ProtoMessage:
    proto = _proto(name)()
    try:
        proto.ParseFromString(data)
    except DecodeError as exc:
        raise ProtocolError(f"malformed {name}: {exc}") from None
    return proto


def _copy(proto: ProtoMessage, target: object, names: tuple[str, ...]) -> None:
    for name in names:
        if proto.HasField(name):
            setattr(target, name, getattr(proto, name))


def _get(proto: ProtoMessage, name: str, default: T) -> T:
    """A field's value, or ``default`` when the client left it out (the field's type is the
    default's: the generated classes are untyped)."""
    return getattr(proto, name) if proto.HasField(name) else default


def _tags(proto_map) -> list[TagValue] | None:
    return [TagValue(tag, value) for tag, value in proto_map.items()] or None


def multiplier_text(value: float) -> str:
    """The contract multiplier travels as a double; ibapi holds it as a string ("100", "0.1")."""
    text = f"{value:.8f}".rstrip("0").rstrip(".")
    return text or "0"


def contract_from_proto(proto: ProtoMessage) -> tuple[Contract, list[OrderComboLeg] | None]:
    """A request's contract, plus the per-leg prices that belong to the order (if any)."""
    contract = Contract()
    _copy(proto, contract, _CONTRACT_FIELDS)
    if proto.HasField("primaryExch"):
        contract.primaryExchange = proto.primaryExch
    if proto.HasField("multiplier"):
        contract.multiplier = multiplier_text(proto.multiplier)
    leg_prices: list[OrderComboLeg] = []
    for leg_proto in proto.comboLegs:
        leg = ComboLeg()
        _copy(leg_proto, leg, ("conId", "ratio", "action", "exchange", "openClose"))
        _copy(leg_proto, leg, ("designatedLocation", "exemptCode"))
        if leg_proto.HasField("shortSalesSlot"):
            leg.shortSaleSlot = leg_proto.shortSalesSlot
        contract.comboLegs.append(leg)
        price = OrderComboLeg()
        if leg_proto.HasField("perLegPrice"):
            price.price = leg_proto.perLegPrice
        leg_prices.append(price)
    if proto.HasField("deltaNeutralContract"):
        dn = DeltaNeutralContract()
        _copy(proto.deltaNeutralContract, dn, ("conId", "delta", "price"))
        contract.deltaNeutralContract = dn
    has_prices = any(leg.HasField("perLegPrice") for leg in proto.comboLegs)
    return contract, (leg_prices if has_prices else None)


def order_from_proto(proto: ProtoMessage, attached: ProtoMessage | None = None) -> Order:
    order = Order()
    _copy(proto, order, _ORDER_FIELDS)
    order.transmit = proto.transmit if proto.HasField("transmit") else False
    if proto.HasField("totalQuantity"):
        order.totalQuantity = Decimal(proto.totalQuantity)
    for name in _ORDER_TRISTATES:
        if proto.HasField(name):
            setattr(order, name, bool(getattr(proto, name)))
    for name in _ORDER_TAG_LISTS:
        setattr(order, name, _tags(getattr(proto, name)))
    order.conditions = conditions_from_proto(proto.conditions)
    if proto.HasField("softDollarTier"):
        order.softDollarTier = decodeSoftDollarTier(proto.softDollarTier)
    if attached is not None:
        _copy(attached, order, ("slOrderId", "slOrderType", "ptOrderId", "ptOrderType"))
    return order


def order_cancel_from_proto(proto: ProtoMessage) -> OrderCancel:
    cancel = OrderCancel()
    _copy(proto, cancel, ("manualOrderCancelTime", "extOperator", "manualOrderIndicator"))
    return cancel


def exec_filter_from_proto(proto: ProtoMessage) -> ExecutionFilter:
    exec_filter = ExecutionFilter()
    _copy(proto, exec_filter, _FILTER_FIELDS)
    _copy(proto, exec_filter, ("lastNDays",))
    exec_filter.specificDates = list(proto.specificDates) or None
    return exec_filter


# --------------------------------------------------------------------------- requests


def _place_order(data: bytes) -> m.Request:
    proto = _parse("PlaceOrderRequest", data)
    order_id = _get(proto, "orderId", 0)
    contract, leg_prices = contract_from_proto(proto.contract)
    attached = proto.attachedOrders if proto.HasField("attachedOrders") else None
    order = order_from_proto(proto.order, attached)
    order.orderId = order_id  # the client sends the id beside the order, TWS keeps it on it
    order.orderComboLegs = leg_prices
    return m.PlaceOrder(order_id, contract, order)


def _cancel_order(data: bytes) -> m.Request:
    proto = _parse("CancelOrderRequest", data)
    return m.CancelOrder(_get(proto, "orderId", 0), order_cancel_from_proto(proto.orderCancel))


def _global_cancel(data: bytes) -> m.Request:
    proto = _parse("GlobalCancelRequest", data)
    return m.ReqGlobalCancel(order_cancel_from_proto(proto.orderCancel))


def _executions(data: bytes) -> m.Request:
    proto = _parse("ExecutionRequest", data)
    return m.ReqExecutions(_get(proto, "reqId", -1), exec_filter_from_proto(proto.executionFilter))


def _contract_data(data: bytes) -> m.Request:
    proto = _parse("ContractDataRequest", data)
    contract, _ = contract_from_proto(proto.contract)
    return m.ReqContractDetails(_get(proto, "reqId", -1), contract)


def _account_summary(data: bytes) -> m.Request:
    proto = _parse("AccountSummaryRequest", data)
    return m.ReqAccountSummary(
        _get(proto, "reqId", -1), _get(proto, "group", ""), _get(proto, "tags", "")
    )


def _account_updates(data: bytes) -> m.Request:
    proto = _parse("AccountDataRequest", data)
    return m.ReqAccountUpdates(_get(proto, "subscribe", False), _get(proto, "acctCode", ""))


def _mkt_data(data: bytes) -> m.Request:
    proto = _parse("MarketDataRequest", data)
    contract, _ = contract_from_proto(proto.contract)
    return m.ReqMktData(
        _get(proto, "reqId", -1),
        contract,
        _get(proto, "genericTickList", ""),
        _get(proto, "snapshot", False),
        _get(proto, "regulatorySnapshot", False),
    )


def _tick_by_tick(data: bytes) -> m.Request:
    proto = _parse("TickByTickRequest", data)
    contract, _ = contract_from_proto(proto.contract)
    return m.ReqTickByTickData(
        _get(proto, "reqId", -1),
        contract,
        _get(proto, "tickType", ""),
        _get(proto, "numberOfTicks", 0),
        _get(proto, "ignoreSize", False),
    )


def _real_time_bars(data: bytes) -> m.Request:
    proto = _parse("RealTimeBarsRequest", data)
    contract, _ = contract_from_proto(proto.contract)
    return m.ReqRealTimeBars(
        _get(proto, "reqId", -1),
        contract,
        _get(proto, "barSize", 0),
        _get(proto, "whatToShow", ""),
        _get(proto, "useRTH", False),
    )


def _pnl(data: bytes) -> m.Request:
    proto = _parse("PnLRequest", data)
    return m.ReqPnL(
        _get(proto, "reqId", -1), _get(proto, "account", ""), _get(proto, "modelCode", "")
    )


def _pnl_single(data: bytes) -> m.Request:
    proto = _parse("PnLSingleRequest", data)
    return m.ReqPnLSingle(
        _get(proto, "reqId", -1),
        _get(proto, "account", ""),
        _get(proto, "modelCode", ""),
        _get(proto, "conId", 0),
    )


def _historical_data(data: bytes) -> m.Request:
    proto = _parse("HistoricalDataRequest", data)
    contract, _ = contract_from_proto(proto.contract)
    return m.ReqHistoricalData(
        _get(proto, "reqId", -1),
        contract,
        _get(proto, "endDateTime", ""),
        _get(proto, "duration", ""),
        _get(proto, "barSizeSetting", ""),
        _get(proto, "whatToShow", ""),
        _get(proto, "useRTH", False),
        _get(proto, "formatDate", 0),
        _get(proto, "keepUpToDate", False),
    )


def _head_timestamp(data: bytes) -> m.Request:
    proto = _parse("HeadTimestampRequest", data)
    contract, _ = contract_from_proto(proto.contract)
    return m.ReqHeadTimeStamp(
        _get(proto, "reqId", -1),
        contract,
        _get(proto, "whatToShow", ""),
        _get(proto, "useRTH", False),
        _get(proto, "formatDate", 0),
    )


def _historical_ticks(data: bytes) -> m.Request:
    proto = _parse("HistoricalTicksRequest", data)
    contract, _ = contract_from_proto(proto.contract)
    return m.ReqHistoricalTicks(
        _get(proto, "reqId", -1),
        contract,
        _get(proto, "startDateTime", ""),
        _get(proto, "endDateTime", ""),
        _get(proto, "numberOfTicks", 0),
        _get(proto, "whatToShow", ""),
        _get(proto, "useRTH", False),
        _get(proto, "ignoreSize", False),
    )


def _replace_fa(data: bytes) -> m.Request:
    proto = _parse("FAReplace", data)
    return m.ReplaceFA(
        _get(proto, "reqId", -1), _get(proto, "faDataType", 0), _get(proto, "xml", "")
    )


def _account_updates_multi(data: bytes) -> m.Request:
    proto = _parse("AccountUpdatesMultiRequest", data)
    return m.ReqAccountUpdatesMulti(
        _get(proto, "reqId", -1),
        _get(proto, "account", ""),
        _get(proto, "modelCode", ""),
        _get(proto, "ledgerAndNLV", False),
    )


def _positions_multi(data: bytes) -> m.Request:
    proto = _parse("PositionsMultiRequest", data)
    return m.ReqPositionsMulti(
        _get(proto, "reqId", -1), _get(proto, "account", ""), _get(proto, "modelCode", "")
    )


def _start_api(data: bytes) -> m.Request:
    proto = _parse("StartApiRequest", data)
    return m.StartApi(_get(proto, "clientId", 0), _get(proto, "optionalCapabilities", ""))


def _empty(name: str, make: Callable[[], m.Request]) -> Callable[[bytes], m.Request]:
    def decode(data: bytes) -> m.Request:
        _parse(name, data)  # still refuse bytes that are not that message
        return make()

    return decode


def _one(name: str, field: str, default: object, make: Callable) -> Callable[[bytes], m.Request]:
    def decode(data: bytes) -> m.Request:
        return make(_get(_parse(name, data), field, default))

    return decode


PROTO_DECODERS: dict[int, Callable[[bytes], m.Request]] = {
    OUT.PLACE_ORDER: _place_order,
    OUT.CANCEL_ORDER: _cancel_order,
    OUT.REQ_GLOBAL_CANCEL: _global_cancel,
    OUT.REQ_EXECUTIONS: _executions,
    OUT.REQ_OPEN_ORDERS: _empty("OpenOrdersRequest", m.ReqOpenOrders),
    OUT.REQ_ALL_OPEN_ORDERS: _empty("AllOpenOrdersRequest", m.ReqAllOpenOrders),
    OUT.REQ_AUTO_OPEN_ORDERS: _one("AutoOpenOrdersRequest", "autoBind", False, m.ReqAutoOpenOrders),
    OUT.REQ_COMPLETED_ORDERS: _one(
        "CompletedOrdersRequest", "apiOnly", False, m.ReqCompletedOrders
    ),
    OUT.REQ_CONTRACT_DATA: _contract_data,
    OUT.REQ_MARKET_RULE: _one("MarketRuleRequest", "marketRuleId", 0, m.ReqMarketRule),
    OUT.REQ_POSITIONS: _empty("PositionsRequest", m.ReqPositions),
    OUT.CANCEL_POSITIONS: _empty("CancelPositions", m.CancelPositions),
    OUT.REQ_ACCOUNT_SUMMARY: _account_summary,
    OUT.CANCEL_ACCOUNT_SUMMARY: _one("CancelAccountSummary", "reqId", -1, m.CancelAccountSummary),
    OUT.REQ_ACCT_DATA: _account_updates,
    OUT.REQ_MANAGED_ACCTS: _empty("ManagedAccountsRequest", m.ReqManagedAccts),
    OUT.REQ_IDS: _one("IdsRequest", "numIds", 0, m.ReqIds),
    OUT.REQ_CURRENT_TIME: _empty("CurrentTimeRequest", m.ReqCurrentTime),
    OUT.REQ_CURRENT_TIME_IN_MILLIS: _empty("CurrentTimeInMillisRequest", m.ReqCurrentTimeInMillis),
    OUT.START_API: _start_api,
    OUT.REQ_MKT_DATA: _mkt_data,
    OUT.CANCEL_MKT_DATA: _one("CancelMarketData", "reqId", -1, m.CancelMktData),
    OUT.REQ_MARKET_DATA_TYPE: _one(
        "MarketDataTypeRequest", "marketDataType", 0, m.ReqMarketDataType
    ),
    OUT.REQ_TICK_BY_TICK_DATA: _tick_by_tick,
    OUT.CANCEL_TICK_BY_TICK_DATA: _one("CancelTickByTick", "reqId", -1, m.CancelTickByTickData),
    OUT.REQ_REAL_TIME_BARS: _real_time_bars,
    OUT.CANCEL_REAL_TIME_BARS: _one("CancelRealTimeBars", "reqId", -1, m.CancelRealTimeBars),
    OUT.REQ_HISTORICAL_DATA: _historical_data,
    OUT.CANCEL_HISTORICAL_DATA: _one("CancelHistoricalData", "reqId", -1, m.CancelHistoricalData),
    OUT.REQ_HEAD_TIMESTAMP: _head_timestamp,
    OUT.CANCEL_HEAD_TIMESTAMP: _one("CancelHeadTimestamp", "reqId", -1, m.CancelHeadTimeStamp),
    OUT.REQ_HISTORICAL_TICKS: _historical_ticks,
    OUT.REQ_PNL: _pnl,
    OUT.CANCEL_PNL: _one("CancelPnL", "reqId", -1, m.CancelPnL),
    OUT.REQ_PNL_SINGLE: _pnl_single,
    OUT.CANCEL_PNL_SINGLE: _one("CancelPnLSingle", "reqId", -1, m.CancelPnLSingle),
    OUT.REQ_FA: _one("FARequest", "faDataType", 0, m.ReqFA),
    OUT.REPLACE_FA: _replace_fa,
    OUT.REQ_ACCOUNT_UPDATES_MULTI: _account_updates_multi,
    OUT.CANCEL_ACCOUNT_UPDATES_MULTI: _one(
        "CancelAccountUpdatesMulti", "reqId", -1, m.CancelAccountUpdatesMulti
    ),
    OUT.REQ_POSITIONS_MULTI: _positions_multi,
    OUT.CANCEL_POSITIONS_MULTI: _one("CancelPositionsMulti", "reqId", -1, m.CancelPositionsMulti),
    # sent as protobuf only: there is no text form to mirror
    OUT.CANCEL_HISTORICAL_TICKS: _one(
        "CancelHistoricalTicks", "reqId", -1, m.CancelHistoricalTicks
    ),
}

# The other protobuf requests, by the proto EClient sends: enough to name the request id that an
# error reply must carry. (createXxxProto in ibapi.client_utils; orderId for exerciseOptions.)
PROTO_REQ_ID_CARRIERS: dict[int, tuple[str, str]] = {
    OUT.REQ_MKT_DEPTH: ("MarketDepthRequest", "reqId"),
    OUT.CANCEL_MKT_DEPTH: ("CancelMarketDepth", "reqId"),
    OUT.REQ_SMART_COMPONENTS: ("SmartComponentsRequest", "reqId"),
    OUT.REQ_CALC_IMPLIED_VOLAT: ("CalculateImpliedVolatilityRequest", "reqId"),
    OUT.CANCEL_CALC_IMPLIED_VOLAT: ("CancelCalculateImpliedVolatility", "reqId"),
    OUT.REQ_CALC_OPTION_PRICE: ("CalculateOptionPriceRequest", "reqId"),
    OUT.CANCEL_CALC_OPTION_PRICE: ("CancelCalculateOptionPrice", "reqId"),
    OUT.EXERCISE_OPTIONS: ("ExerciseOptionsRequest", "orderId"),
    OUT.REQ_HISTOGRAM_DATA: ("HistogramDataRequest", "reqId"),
    OUT.CANCEL_HISTOGRAM_DATA: ("CancelHistogramData", "reqId"),
    OUT.REQ_SCANNER_SUBSCRIPTION: ("ScannerSubscriptionRequest", "reqId"),
    OUT.CANCEL_SCANNER_SUBSCRIPTION: ("CancelScannerSubscription", "reqId"),
    OUT.REQ_FUNDAMENTAL_DATA: ("FundamentalsDataRequest", "reqId"),
    OUT.CANCEL_FUNDAMENTAL_DATA: ("CancelFundamentalsData", "reqId"),
    OUT.REQ_NEWS_ARTICLE: ("NewsArticleRequest", "reqId"),
    OUT.REQ_HISTORICAL_NEWS: ("HistoricalNewsRequest", "reqId"),
    OUT.QUERY_DISPLAY_GROUPS: ("QueryDisplayGroupsRequest", "reqId"),
    OUT.SUBSCRIBE_TO_GROUP_EVENTS: ("SubscribeToGroupEventsRequest", "reqId"),
    OUT.UPDATE_DISPLAY_GROUP: ("UpdateDisplayGroupRequest", "reqId"),
    OUT.UNSUBSCRIBE_FROM_GROUP_EVENTS: ("UnsubscribeFromGroupEventsRequest", "reqId"),
    OUT.REQ_SEC_DEF_OPT_PARAMS: ("SecDefOptParamsRequest", "reqId"),
    OUT.REQ_SOFT_DOLLAR_TIERS: ("SoftDollarTiersRequest", "reqId"),
    OUT.REQ_MATCHING_SYMBOLS: ("MatchingSymbolsRequest", "reqId"),
    OUT.REQ_WSH_META_DATA: ("WshMetaDataRequest", "reqId"),
    OUT.CANCEL_WSH_META_DATA: ("CancelWshMetaData", "reqId"),
    OUT.REQ_WSH_EVENT_DATA: ("WshEventDataRequest", "reqId"),
    OUT.CANCEL_WSH_EVENT_DATA: ("CancelWshEventData", "reqId"),
    OUT.REQ_USER_INFO: ("UserInfoRequest", "reqId"),
    OUT.CANCEL_CONTRACT_DATA: ("CancelContractData", "reqId"),
    OUT.REQ_CONFIG: ("ConfigRequest", "reqId"),
    OUT.UPDATE_CONFIG: ("UpdateConfigRequest", "reqId"),
}

_OUT_NAMES = {
    value: name for name, value in vars(OUT).items() if name.isupper() and isinstance(value, int)
}


def decode_proto_request(msg_id: int, data: bytes) -> m.Request:
    """Decode the protobuf body of request ``msg_id`` (already offset back below 200)."""
    decoder = PROTO_DECODERS.get(msg_id)
    if decoder is not None:
        return decoder(data)
    req_id = -1
    carrier = PROTO_REQ_ID_CARRIERS.get(msg_id)
    if carrier is not None:
        req_id = int(_get(_parse(carrier[0], data), carrier[1], -1))
    return m.Unsupported(msg_id, req_id, _OUT_NAMES.get(msg_id, f"msg {msg_id}"))
