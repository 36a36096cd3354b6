"""The simulator's vocabulary: what clients ask (requests) and what TWS answers (messages).

Codecs (``text``, ``text_requests``, ``proto``) translate between these and bytes at a
negotiated server version; the exchange and the server only ever see these objects. That split is
what lets one exchange serve every protocol version, and lets tests compare message streams
independently of their encoding.

Domain objects are ibapi's own classes (Contract, Order, ...), so the simulator holds exactly
what the wire can carry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from ibapi.commission_and_fees_report import CommissionAndFeesReport
from ibapi.common import BarData, HistoricalTick, HistoricalTickBidAsk, HistoricalTickLast
from ibapi.contract import Contract, ContractDetails
from ibapi.execution import Execution, ExecutionFilter
from ibapi.order import Order
from ibapi.order_cancel import OrderCancel
from ibapi.order_state import OrderState

# --------------------------------------------------------------------------- requests (in)


@dataclass
class Request:
    """Base of every decoded client request."""


@dataclass
class StartApi(Request):
    client_id: int
    optional_capabilities: str = ""


@dataclass
class ReqIds(Request):
    num_ids: int


@dataclass
class ReqCurrentTime(Request):
    pass


@dataclass
class ReqCurrentTimeInMillis(Request):
    pass


@dataclass
class ReqManagedAccts(Request):
    pass


@dataclass
class ReqContractDetails(Request):
    req_id: int
    contract: Contract


@dataclass
class ReqMarketRule(Request):
    market_rule_id: int


@dataclass
class PlaceOrder(Request):
    order_id: int
    contract: Contract
    order: Order


@dataclass
class CancelOrder(Request):
    order_id: int
    order_cancel: OrderCancel = field(default_factory=OrderCancel)


@dataclass
class ReqGlobalCancel(Request):
    order_cancel: OrderCancel = field(default_factory=OrderCancel)


@dataclass
class ReqOpenOrders(Request):
    pass


@dataclass
class ReqAllOpenOrders(Request):
    pass


@dataclass
class ReqAutoOpenOrders(Request):
    auto_bind: bool


@dataclass
class ReqCompletedOrders(Request):
    api_only: bool


@dataclass
class ReqExecutions(Request):
    req_id: int
    exec_filter: ExecutionFilter


@dataclass
class ReqPositions(Request):
    pass


@dataclass
class CancelPositions(Request):
    pass


@dataclass
class ReqAccountSummary(Request):
    req_id: int
    group: str
    tags: str


@dataclass
class CancelAccountSummary(Request):
    req_id: int


@dataclass
class ReqAccountUpdates(Request):
    subscribe: bool
    account: str


@dataclass
class ReqMktData(Request):
    req_id: int
    contract: Contract
    generic_ticks: str = ""
    snapshot: bool = False
    regulatory_snapshot: bool = False


@dataclass
class CancelMktData(Request):
    req_id: int


@dataclass
class ReqMarketDataType(Request):
    market_data_type: int


@dataclass
class ReqTickByTickData(Request):
    req_id: int
    contract: Contract
    tick_type: str  # Last, AllLast, BidAsk, MidPoint
    number_of_ticks: int = 0
    ignore_size: bool = False


@dataclass
class CancelTickByTickData(Request):
    req_id: int


@dataclass
class ReqRealTimeBars(Request):
    req_id: int
    contract: Contract
    bar_size: int
    what_to_show: str
    use_rth: bool


@dataclass
class CancelRealTimeBars(Request):
    req_id: int


# --------------------------------------------------------------------------- P&L (in)


@dataclass
class ReqPnL(Request):
    req_id: int
    account: str
    model_code: str = ""


@dataclass
class CancelPnL(Request):
    req_id: int


@dataclass
class ReqPnLSingle(Request):
    req_id: int
    account: str
    model_code: str
    con_id: int


@dataclass
class CancelPnLSingle(Request):
    req_id: int


# --------------------------------------------------------------------------- history (in)


@dataclass
class ReqHistoricalData(Request):
    """reqHistoricalData as sent: strings unparsed, so the exchange refuses them in TWS's words."""

    req_id: int
    contract: Contract
    end_date_time: str
    duration: str
    bar_size: str
    what_to_show: str
    use_rth: bool
    format_date: int
    keep_up_to_date: bool = False


@dataclass
class CancelHistoricalData(Request):
    req_id: int


@dataclass
class ReqHeadTimeStamp(Request):
    req_id: int
    contract: Contract
    what_to_show: str
    use_rth: bool
    format_date: int


@dataclass
class CancelHeadTimeStamp(Request):
    req_id: int


@dataclass
class ReqHistoricalTicks(Request):
    req_id: int
    contract: Contract
    start_date_time: str
    end_date_time: str
    number_of_ticks: int
    what_to_show: str
    use_rth: bool
    ignore_size: bool = False


# --------------------------------------------------------------------------- advisor accounts (in)


@dataclass
class ReqFA(Request):
    """requestFA: 1 groups, 2 profiles (retired), 3 aliases. No reqId: TWS answers receiveFA."""

    fa_data_type: int


@dataclass
class ReplaceFA(Request):
    req_id: int
    fa_data_type: int
    xml: str


@dataclass
class ReqAccountUpdatesMulti(Request):
    req_id: int
    account: str  # an account, an FA group, "All" or ""
    model_code: str = ""
    ledger_and_nlv: bool = False


@dataclass
class CancelAccountUpdatesMulti(Request):
    req_id: int


@dataclass
class ReqPositionsMulti(Request):
    req_id: int
    account: str
    model_code: str = ""


@dataclass
class CancelPositionsMulti(Request):
    req_id: int


@dataclass
class CancelHistoricalTicks(Request):
    """Sent by ibapi as protobuf only (from server version 215)."""

    req_id: int


@dataclass
class Unsupported(Request):
    """A request the simulator decodes only far enough to answer with an error."""

    msg_id: int
    req_id: int = -1
    name: str = ""


# --------------------------------------------------------------------------- messages (out)


@dataclass
class Message:
    """Base of every message the simulator sends."""


@dataclass
class ManagedAccounts(Message):
    accounts: list[str]


@dataclass
class NextValidId(Message):
    order_id: int


@dataclass
class CurrentTime(Message):
    seconds: int


@dataclass
class CurrentTimeInMillis(Message):
    millis: int


@dataclass
class ErrorMsg(Message):
    req_id: int
    code: int
    text: str
    advanced_order_reject_json: str = ""
    error_time_ms: int = 0


@dataclass
class ContractData(Message):
    req_id: int
    details: ContractDetails


@dataclass
class ContractDataEnd(Message):
    req_id: int


@dataclass
class MarketRule(Message):
    market_rule_id: int
    increments: list[tuple[float, float]]  # (low edge, increment)


@dataclass
class OpenOrder(Message):
    order_id: int
    contract: Contract
    order: Order
    state: OrderState


@dataclass
class OpenOrderEnd(Message):
    pass


@dataclass
class OrderStatus(Message):
    order_id: int
    status: str
    filled: Decimal
    remaining: Decimal
    avg_fill_price: float
    perm_id: int
    parent_id: int
    last_fill_price: float
    client_id: int
    why_held: str = ""
    mkt_cap_price: float = 0.0


@dataclass
class ExecDetails(Message):
    req_id: int  # -1 for live fills
    contract: Contract
    execution: Execution


@dataclass
class ExecDetailsEnd(Message):
    req_id: int


@dataclass
class CommissionReport(Message):
    report: CommissionAndFeesReport


@dataclass
class CompletedOrder(Message):
    contract: Contract
    order: Order
    state: OrderState


@dataclass
class CompletedOrdersEnd(Message):
    pass


@dataclass
class Position(Message):
    account: str
    contract: Contract
    position: Decimal
    avg_cost: float


@dataclass
class PositionEnd(Message):
    pass


@dataclass
class AccountSummary(Message):
    req_id: int
    account: str
    tag: str
    value: str
    currency: str


@dataclass
class AccountSummaryEnd(Message):
    req_id: int


@dataclass
class AccountValue(Message):
    key: str
    value: str
    currency: str
    account: str


@dataclass
class PortfolioValue(Message):
    contract: Contract
    position: Decimal
    market_price: float
    market_value: float
    average_cost: float
    unrealized_pnl: float
    realized_pnl: float
    account: str


@dataclass
class AccountUpdateTime(Message):
    time_stamp: str  # "HH:MM"


@dataclass
class AccountDownloadEnd(Message):
    account: str


# --------------------------------------------------------------------------- market data (out)


@dataclass
class TickPrice(Message):
    """A price tick; for bid, ask and last (and their delayed ids) ibapi also calls tickSize
    with ``size``. ``lot`` is the round lot US stock sizes were counted in before server
    version MARKET_DATA_IN_SHARES (the codec divides by it for such clients)."""

    req_id: int
    tick_type: int
    price: float
    size: Decimal = Decimal(0)
    attr_mask: int = 0  # 1 canAutoExecute, 2 pastLimit, 4 preOpen
    lot: int = 1


@dataclass
class TickSize(Message):
    req_id: int
    tick_type: int
    size: Decimal
    lot: int = 1


@dataclass
class TickString(Message):
    req_id: int
    tick_type: int
    value: str


@dataclass
class TickGeneric(Message):
    req_id: int
    tick_type: int
    value: float


@dataclass
class TickReqParams(Message):
    req_id: int
    min_tick: float
    bbo_exchange: str
    snapshot_permissions: int
    precision: str = ""  # last price / size precision: protobuf only, stocks only


@dataclass
class MarketDataType(Message):
    req_id: int
    market_data_type: int


@dataclass
class TickSnapshotEnd(Message):
    req_id: int


@dataclass
class RealTimeBar(Message):
    req_id: int
    time: int  # the bar's start, Unix seconds
    open: float
    high: float
    low: float
    close: float
    volume: Decimal
    wap: Decimal
    count: int


@dataclass
class TickByTickLast(Message):
    """A trade (tick type 1 Last or 2 AllLast)."""

    req_id: int
    tick_type: int
    time: int
    price: float
    size: Decimal
    exchange: str
    special_conditions: str = ""
    past_limit: bool = False
    unreported: bool = False


@dataclass
class TickByTickBidAsk(Message):
    req_id: int
    time: int
    bid: float
    ask: float
    bid_size: Decimal
    ask_size: Decimal
    bid_past_low: bool = False
    ask_past_high: bool = False


@dataclass
class TickByTickMidPoint(Message):
    req_id: int
    time: int
    mid_point: float


# --------------------------------------------------------------------------- P&L (out)


@dataclass
class PnL(Message):
    """An account's P&L (reqPnL); the fields in the order of ``EWrapper.pnl``."""

    req_id: int
    daily_pnl: float
    unrealized_pnl: float
    realized_pnl: float


@dataclass
class PnLSingle(Message):
    """One position's P&L (reqPnLSingle); the fields in the order of ``EWrapper.pnlSingle``."""

    req_id: int
    position: Decimal
    daily_pnl: float
    unrealized_pnl: float
    realized_pnl: float
    value: float


# --------------------------------------------------------------------------- history (out)
#
# Bars and ticks are ibapi's own classes (BarData, HistoricalTick...), as the client gets them.


@dataclass
class HistoricalData(Message):
    """The bars of a reqHistoricalData answer. ``start`` and ``end`` are the request's span as
    historicalDataEnd reports it: before server version HISTORICAL_DATA_END (196) they travel in
    this message, which then also ends the answer (``HistoricalDataEnd`` is not sent there)."""

    req_id: int
    bars: list[BarData]
    start: str
    end: str


@dataclass
class HistoricalDataEnd(Message):
    req_id: int
    start: str
    end: str


@dataclass
class HistoricalDataUpdate(Message):
    """keepUpToDate: the current bar as it stands, or a new one."""

    req_id: int
    bar: BarData


@dataclass
class HeadTimestamp(Message):
    req_id: int
    timestamp: str


@dataclass
class HistoricalTicks(Message):
    """MIDPOINT ticks (historicalTicks)."""

    req_id: int
    ticks: list[HistoricalTick]
    done: bool = True


@dataclass
class HistoricalTicksBidAsk(Message):
    req_id: int
    ticks: list[HistoricalTickBidAsk]
    done: bool = True


@dataclass
class HistoricalTicksLast(Message):
    """TRADES ticks (historicalTicksLast)."""

    req_id: int
    ticks: list[HistoricalTickLast]
    done: bool = True


# --------------------------------------------------------------------------- advisor accounts (out)


@dataclass
class ReceiveFA(Message):
    fa_data_type: int
    xml: str


@dataclass
class ReplaceFAEnd(Message):
    req_id: int
    text: str


@dataclass
class PositionMulti(Message):
    req_id: int
    account: str
    model_code: str
    contract: Contract
    position: Decimal
    avg_cost: float


@dataclass
class PositionMultiEnd(Message):
    req_id: int


@dataclass
class AccountUpdateMulti(Message):
    req_id: int
    account: str
    model_code: str
    key: str
    value: str
    currency: str


@dataclass
class AccountUpdateMultiEnd(Message):
    req_id: int
