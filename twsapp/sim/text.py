"""Outbound text codec: the fields real TWS writes for each message, at each server version.

ibapi's text decoder (``decoder.py``, ``orderdecoder.py``) is the contract: for every server
version, every field written here is read by ``Decoder(wrapper, version)``, in order, with none
missing and none left over. Where a field may be spelled several ways that decode alike (``0`` /
``0.0``, empty / ``2147483647`` / ``1.7976931348623157E308``), the spelling is the one captured
from real TWS (``shared/fixtures/tws-captures.json``, and the public paper-Gateway transcripts at
server version 200 in the ThomasMarcelis/ibkr-go repository), so that a client comparing bytes or
strings sees exactly what TWS sends.

Order-shaped messages (openOrder, completedOrder) live in ``text_orders``; the spellings both
use, in ``spelling``.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

from ibapi.common import BarData
from ibapi.contract import Contract, ContractDetails
from ibapi.message import IN
from ibapi.server_versions import (
    MIN_SERVER_VER_ADVANCED_ORDER_REJECT,
    MIN_SERVER_VER_ERROR_TIME,
    MIN_SERVER_VER_FRACTIONAL_SIZE_SUPPORT,
    MIN_SERVER_VER_FUND_DATA_FIELDS,
    MIN_SERVER_VER_HISTORICAL_DATA_END,
    MIN_SERVER_VER_INELIGIBILITY_REASONS,
    MIN_SERVER_VER_LAST_LIQUIDITY,
    MIN_SERVER_VER_LAST_TRADE_DATE,
    MIN_SERVER_VER_MARKET_CAP_PRICE,
    MIN_SERVER_VER_MARKET_DATA_IN_SHARES,
    MIN_SERVER_VER_MD_SIZE_MULTIPLIER,
    MIN_SERVER_VER_PENDING_PRICE_REVISION,
    MIN_SERVER_VER_REALIZED_PNL,
    MIN_SERVER_VER_SIZE_RULES,
    MIN_SERVER_VER_SUBMITTER,
    MIN_SERVER_VER_UNREALIZED_PNL,
)

from twsapp.sim import messages as m
from twsapp.sim.spelling import (
    dbl,
    dbl_zero,
    dec,
    escaped,
    flag,
    int_text,
    plain,
    plain_zero,
    right_or,
    tag_values,
    text,
)
from twsapp.sim.text_orders import completed_order_fields, open_order_fields
from twsapp.sim.wire import enum_code, last_trade_field, text_payload

# Leading "version" fields TWS still writes for these messages (ibapi skips or checks them).
ERROR_VERSION = "2"
CONTRACT_DATA_VERSION = "8"
POSITION_VERSION = "3"
PORTFOLIO_VERSION = "8"
ACCOUNT_VALUE_VERSION = "2"
SIMPLE_VERSION = "1"
TICK_VERSION = "6"  # tickPrice, tickSize, tickString, tickGeneric
REAL_TIME_BARS_VERSION = "3"

# --------------------------------------------------------------------------- small messages


def _managed_accounts(_v: int, msg: m.ManagedAccounts) -> list[str]:
    return [str(IN.MANAGED_ACCTS), SIMPLE_VERSION, escaped(",".join(msg.accounts))]


def _next_valid_id(_v: int, msg: m.NextValidId) -> list[str]:
    return [str(IN.NEXT_VALID_ID), SIMPLE_VERSION, int_text(msg.order_id)]


def _current_time(_v: int, msg: m.CurrentTime) -> list[str]:
    return [str(IN.CURRENT_TIME), SIMPLE_VERSION, int_text(msg.seconds)]


def _current_time_millis(_v: int, msg: m.CurrentTimeInMillis) -> list[str]:
    return [str(IN.CURRENT_TIME_IN_MILLIS), int_text(msg.millis)]


def _error(v: int, msg: m.ErrorMsg) -> list[str]:
    fields = [str(IN.ERR_MSG)]
    if v < MIN_SERVER_VER_ERROR_TIME:
        fields.append(ERROR_VERSION)
    fields += [int_text(msg.req_id), int_text(msg.code), escaped(msg.text)]
    if v >= MIN_SERVER_VER_ADVANCED_ORDER_REJECT:
        fields.append(escaped(msg.advanced_order_reject_json))
    if v >= MIN_SERVER_VER_ERROR_TIME:
        fields.append(int_text(msg.error_time_ms))
    return fields


def _contract_data_end(_v: int, msg: m.ContractDataEnd) -> list[str]:
    return [str(IN.CONTRACT_DATA_END), SIMPLE_VERSION, int_text(msg.req_id)]


def _market_rule(_v: int, msg: m.MarketRule) -> list[str]:
    fields = [str(IN.MARKET_RULE), int_text(msg.market_rule_id), str(len(msg.increments))]
    for low_edge, increment in msg.increments:
        fields += [plain(low_edge), plain(increment)]
    return fields


def _open_order_end(_v: int, _msg: m.OpenOrderEnd) -> list[str]:
    return [str(IN.OPEN_ORDER_END), SIMPLE_VERSION]


def _order_status(v: int, msg: m.OrderStatus) -> list[str]:
    fields = [
        str(IN.ORDER_STATUS),
        int_text(msg.order_id),
        text(msg.status),
        dec(msg.filled),
        dec(msg.remaining),
        plain(msg.avg_fill_price),
        int_text(msg.perm_id),
        int_text(msg.parent_id),
        plain(msg.last_fill_price),
        int_text(msg.client_id),
        text(msg.why_held),
    ]
    if v >= MIN_SERVER_VER_MARKET_CAP_PRICE:
        fields.append(plain(msg.mkt_cap_price))
    return fields


def _exec_details_end(_v: int, msg: m.ExecDetailsEnd) -> list[str]:
    return [str(IN.EXECUTION_DATA_END), SIMPLE_VERSION, int_text(msg.req_id)]


def _commission_report(_v: int, msg: m.CommissionReport) -> list[str]:
    report = msg.report
    return [
        str(IN.COMMISSION_AND_FEES_REPORT),
        SIMPLE_VERSION,
        text(report.execId),
        dbl(report.commissionAndFees),
        text(report.currency),
        dbl(report.realizedPNL),
        dbl(report.yield_),
        "" if not report.yieldRedemptionDate else int_text(report.yieldRedemptionDate),
    ]


def _completed_orders_end(_v: int, _msg: m.CompletedOrdersEnd) -> list[str]:
    return [str(IN.COMPLETED_ORDERS_END)]


def _position_end(_v: int, _msg: m.PositionEnd) -> list[str]:
    return [str(IN.POSITION_END), SIMPLE_VERSION]


def _account_summary(_v: int, msg: m.AccountSummary) -> list[str]:
    return [
        str(IN.ACCOUNT_SUMMARY),
        SIMPLE_VERSION,
        int_text(msg.req_id),
        escaped(msg.account),
        escaped(msg.tag),
        escaped(msg.value),
        escaped(msg.currency),
    ]


def _account_summary_end(_v: int, msg: m.AccountSummaryEnd) -> list[str]:
    return [str(IN.ACCOUNT_SUMMARY_END), SIMPLE_VERSION, int_text(msg.req_id)]


def _account_value(_v: int, msg: m.AccountValue) -> list[str]:
    return [
        str(IN.ACCT_VALUE),
        ACCOUNT_VALUE_VERSION,
        escaped(msg.key),
        escaped(msg.value),
        escaped(msg.currency),
        escaped(msg.account),
    ]


def _account_update_time(_v: int, msg: m.AccountUpdateTime) -> list[str]:
    return [str(IN.ACCT_UPDATE_TIME), SIMPLE_VERSION, escaped(msg.time_stamp)]


def _account_download_end(_v: int, msg: m.AccountDownloadEnd) -> list[str]:
    return [str(IN.ACCT_DOWNLOAD_END), SIMPLE_VERSION, escaped(msg.account)]


# --------------------------------------------------------------------------- advisor accounts
# receiveFA and the multi messages keep a version field ("1") that ibapi skips; replaceFAEnd
# has none. Signature-decoded ones (receiveFA, accountUpdateMulti, the Ends) are escaped.


def _receive_fa(_v: int, msg: m.ReceiveFA) -> list[str]:
    return [str(IN.RECEIVE_FA), SIMPLE_VERSION, int_text(msg.fa_data_type), escaped(msg.xml)]


def _replace_fa_end(_v: int, msg: m.ReplaceFAEnd) -> list[str]:
    return [str(IN.REPLACE_FA_END), int_text(msg.req_id), text(msg.text)]


def _position_multi(_v: int, msg: m.PositionMulti) -> list[str]:
    contract = msg.contract
    return [
        str(IN.POSITION_MULTI),
        SIMPLE_VERSION,
        int_text(msg.req_id),
        text(msg.account),
        int_text(contract.conId),
        text(contract.symbol),
        text(contract.secType),
        text(contract.lastTradeDateOrContractMonth),
        dbl_zero(contract.strike),
        text(contract.right),
        text(contract.multiplier),
        text(contract.exchange),
        text(contract.currency),
        text(contract.localSymbol),
        text(contract.tradingClass),
        dec(msg.position),
        dbl(msg.avg_cost),
        text(msg.model_code),
    ]


def _position_multi_end(_v: int, msg: m.PositionMultiEnd) -> list[str]:
    return [str(IN.POSITION_MULTI_END), SIMPLE_VERSION, int_text(msg.req_id)]


def _account_update_multi(_v: int, msg: m.AccountUpdateMulti) -> list[str]:
    return [
        str(IN.ACCOUNT_UPDATE_MULTI),
        SIMPLE_VERSION,
        int_text(msg.req_id),
        escaped(msg.account),
        escaped(msg.model_code),
        escaped(msg.key),
        escaped(msg.value),
        escaped(msg.currency),
    ]


def _account_update_multi_end(_v: int, msg: m.AccountUpdateMultiEnd) -> list[str]:
    return [str(IN.ACCOUNT_UPDATE_MULTI_END), SIMPLE_VERSION, int_text(msg.req_id)]


# --------------------------------------------------------------------------- contract-bearing


def _exec_details(v: int, msg: m.ExecDetails) -> list[str]:
    contract, execution = msg.contract, msg.execution
    fields = [
        str(IN.EXECUTION_DATA),
        int_text(msg.req_id),
        int_text(execution.orderId),
        int_text(contract.conId),
        text(contract.symbol),
        text(contract.secType),
        text(contract.lastTradeDateOrContractMonth),
        dbl_zero(contract.strike),
        text(contract.right),
        text(contract.multiplier),
        text(contract.exchange),
        text(contract.currency),
        text(contract.localSymbol),
        text(contract.tradingClass),
        text(execution.execId),
        text(execution.time),
        text(execution.acctNumber),
        text(execution.exchange),
        text(execution.side),
        dec(execution.shares),
        dbl(execution.price),
        int_text(execution.permId),
        int_text(execution.clientId),
        int_text(execution.liquidation),
        dec(execution.cumQty),
        dbl(execution.avgPrice),
        text(execution.orderRef),
        text(execution.evRule),
        "" if not execution.evMultiplier else dbl(execution.evMultiplier),
        text(execution.modelCode),
    ]
    if v >= MIN_SERVER_VER_LAST_LIQUIDITY:
        fields.append(int_text(execution.lastLiquidity))
    if v >= MIN_SERVER_VER_PENDING_PRICE_REVISION:
        fields.append(flag(execution.pendingPriceRevision))
    if v >= MIN_SERVER_VER_SUBMITTER:
        fields.append(text(execution.submitter))
    return fields


def _position(_v: int, msg: m.Position) -> list[str]:
    contract = msg.contract
    return [
        str(IN.POSITION_DATA),
        POSITION_VERSION,
        text(msg.account),
        int_text(contract.conId),
        text(contract.symbol),
        text(contract.secType),
        text(contract.lastTradeDateOrContractMonth),
        dbl_zero(contract.strike),
        text(contract.right),
        text(contract.multiplier),
        text(contract.exchange),
        text(contract.currency),
        text(contract.localSymbol),
        text(contract.tradingClass),
        dec(msg.position),
        dbl(msg.avg_cost),
    ]


def _portfolio_value(_v: int, msg: m.PortfolioValue) -> list[str]:
    contract = msg.contract
    return [
        str(IN.PORTFOLIO_VALUE),
        PORTFOLIO_VERSION,
        int_text(contract.conId),
        text(contract.symbol),
        text(contract.secType),
        text(contract.lastTradeDateOrContractMonth),
        plain_zero(contract.strike),
        right_or(contract, "0"),
        text(contract.multiplier),
        text(contract.primaryExchange),
        text(contract.currency),
        text(contract.localSymbol),
        text(contract.tradingClass),
        dec(msg.position),
        dbl(msg.market_price),
        dbl(msg.market_value),
        dbl(msg.average_cost),
        dbl(msg.unrealized_pnl),
        dbl(msg.realized_pnl),
        text(msg.account),
    ]


def _contract_data(v: int, msg: m.ContractData) -> list[str]:
    details: ContractDetails = msg.details
    contract: Contract = details.contract
    fields = [str(IN.CONTRACT_DATA)]
    if v < MIN_SERVER_VER_SIZE_RULES:
        fields.append(CONTRACT_DATA_VERSION)
    fields += [int_text(msg.req_id), text(contract.symbol), text(contract.secType)]
    fields.append(last_trade_field(details))
    if v >= MIN_SERVER_VER_LAST_TRADE_DATE:
        fields.append(text(contract.lastTradeDate))
    fields += [
        plain_zero(contract.strike),
        text(contract.right),
        text(contract.exchange),
        text(contract.currency),
        text(contract.localSymbol),
        text(details.marketName),
        text(contract.tradingClass),
        int_text(contract.conId),
        plain(details.minTick),
    ]
    if MIN_SERVER_VER_MD_SIZE_MULTIPLIER <= v < MIN_SERVER_VER_SIZE_RULES:
        fields.append("1")  # mdSizeMultiplier: retired at SIZE_RULES, ignored by ibapi
    fields += [
        text(contract.multiplier),
        text(details.orderTypes),
        text(details.validExchanges),
        int_text(details.priceMagnifier),
        int_text(details.underConId),
        escaped(details.longName),
        text(contract.primaryExchange),
        text(details.contractMonth),
        text(details.industry),
        text(details.category),
        text(details.subcategory),
        text(details.timeZoneId),
        text(details.tradingHours),
        text(details.liquidHours),
        text(details.evRule),
        "" if not details.evMultiplier else int_text(details.evMultiplier),
    ]
    fields += tag_values(details.secIdList)
    fields += [
        int_text(details.aggGroup),
        text(details.underSymbol),
        text(details.underSecType),
        text(details.marketRuleIds),
        text(details.realExpirationDate),
        text(details.stockType),
    ]
    if MIN_SERVER_VER_FRACTIONAL_SIZE_SUPPORT <= v < MIN_SERVER_VER_SIZE_RULES:
        fields.append(dec(details.sizeIncrement) or "1")  # sizeMinTick, ignored by ibapi
    if v >= MIN_SERVER_VER_SIZE_RULES:
        fields += [
            dec(details.minSize),
            dec(details.sizeIncrement),
            dec(details.suggestedSizeIncrement),
        ]
    if v >= MIN_SERVER_VER_FUND_DATA_FIELDS and contract.secType == "FUND":
        fields += _fund_fields(details)
    if v >= MIN_SERVER_VER_INELIGIBILITY_REASONS:
        reasons = details.ineligibilityReasonList or []
        fields.append(str(len(reasons)))
        for reason in reasons:
            fields += [text(reason.id_), text(reason.description)]
    return fields


def _fund_fields(details: ContractDetails) -> list[str]:
    return [
        text(details.fundName),
        text(details.fundFamily),
        text(details.fundType),
        text(details.fundFrontLoad),
        text(details.fundBackLoad),
        text(details.fundBackLoadTimeInterval),
        text(details.fundManagementFee),
        flag(details.fundClosed),
        flag(details.fundClosedForNewInvestors),
        flag(details.fundClosedForNewMoney),
        text(details.fundNotifyAmount),
        text(details.fundMinimumInitialPurchase),
        text(details.fundSubsequentMinimumPurchase),
        text(details.fundBlueSkyStates),
        text(details.fundBlueSkyTerritories),
        enum_code(details.fundDistributionPolicyIndicator) or "",
        enum_code(details.fundAssetType) or "",
    ]


# --------------------------------------------------------------------------- market data


def wire_size(v: int, size: Decimal, lot: int) -> Decimal:
    """A US stock's bid/ask/last size as a client below MARKET_DATA_IN_SHARES counts it: in
    round lots (TWS has sent shares since 985 / server version 159)."""
    if lot > 1 and v < MIN_SERVER_VER_MARKET_DATA_IN_SHARES:
        return size / lot
    return size


def _tick_price(v: int, msg: m.TickPrice) -> list[str]:
    return [
        str(IN.TICK_PRICE),
        TICK_VERSION,
        int_text(msg.req_id),
        int_text(msg.tick_type),
        dbl(msg.price),
        dec(wire_size(v, msg.size, msg.lot)),
        int_text(msg.attr_mask),
    ]


def _tick_size(v: int, msg: m.TickSize) -> list[str]:
    size = dec(wire_size(v, msg.size, msg.lot))
    return [str(IN.TICK_SIZE), TICK_VERSION, int_text(msg.req_id), int_text(msg.tick_type), size]


def _tick_string(_v: int, msg: m.TickString) -> list[str]:
    fields = [str(IN.TICK_STRING), TICK_VERSION, int_text(msg.req_id), int_text(msg.tick_type)]
    return [*fields, escaped(msg.value)]


def _tick_generic(_v: int, msg: m.TickGeneric) -> list[str]:
    fields = [str(IN.TICK_GENERIC), TICK_VERSION, int_text(msg.req_id), int_text(msg.tick_type)]
    return [*fields, dbl(msg.value)]


def _tick_req_params(_v: int, msg: m.TickReqParams) -> list[str]:
    return [
        str(IN.TICK_REQ_PARAMS),
        int_text(msg.req_id),
        plain(msg.min_tick),
        text(msg.bbo_exchange),
        int_text(msg.snapshot_permissions),
    ]


def _market_data_type(_v: int, msg: m.MarketDataType) -> list[str]:
    return [
        str(IN.MARKET_DATA_TYPE),
        SIMPLE_VERSION,
        int_text(msg.req_id),
        int_text(msg.market_data_type),
    ]


def _tick_snapshot_end(_v: int, msg: m.TickSnapshotEnd) -> list[str]:
    return [str(IN.TICK_SNAPSHOT_END), SIMPLE_VERSION, int_text(msg.req_id)]


def _real_time_bar(_v: int, msg: m.RealTimeBar) -> list[str]:
    return [
        str(IN.REAL_TIME_BARS),
        REAL_TIME_BARS_VERSION,
        int_text(msg.req_id),
        int_text(msg.time),
        dbl(msg.open),
        dbl(msg.high),
        dbl(msg.low),
        dbl(msg.close),
        dec(msg.volume),
        dec(msg.wap),
        int_text(msg.count),
    ]


def _tick_by_tick_last(_v: int, msg: m.TickByTickLast) -> list[str]:
    mask = (1 if msg.past_limit else 0) | (2 if msg.unreported else 0)
    return [
        str(IN.TICK_BY_TICK),
        int_text(msg.req_id),
        int_text(msg.tick_type),
        int_text(msg.time),
        dbl(msg.price),
        dec(msg.size),
        int_text(mask),
        text(msg.exchange),
        text(msg.special_conditions),
    ]


def _tick_by_tick_bid_ask(_v: int, msg: m.TickByTickBidAsk) -> list[str]:
    mask = (1 if msg.bid_past_low else 0) | (2 if msg.ask_past_high else 0)
    return [
        str(IN.TICK_BY_TICK),
        int_text(msg.req_id),
        "3",
        int_text(msg.time),
        dbl(msg.bid),
        dbl(msg.ask),
        dec(msg.bid_size),
        dec(msg.ask_size),
        int_text(mask),
    ]


def _tick_by_tick_mid_point(_v: int, msg: m.TickByTickMidPoint) -> list[str]:
    fields = [str(IN.TICK_BY_TICK), int_text(msg.req_id), "4", int_text(msg.time)]
    return [*fields, dbl(msg.mid_point)]


# --------------------------------------------------------------------------- P&L
#
# No message version field. The unrealized and realized gates (129, 135) are below the oldest
# version served and always open; they are kept so the fields read as ibapi's decoder reads them.


def _pnl_tail(v: int, unrealized: float, realized: float) -> list[str]:
    fields: list[str] = []
    if v >= MIN_SERVER_VER_UNREALIZED_PNL:
        fields.append(dbl(unrealized))
    if v >= MIN_SERVER_VER_REALIZED_PNL:
        fields.append(dbl(realized))
    return fields


def _pnl(v: int, msg: m.PnL) -> list[str]:
    fields = [str(IN.PNL), int_text(msg.req_id), dbl(msg.daily_pnl)]
    return fields + _pnl_tail(v, msg.unrealized_pnl, msg.realized_pnl)


def _pnl_single(v: int, msg: m.PnLSingle) -> list[str]:
    fields = [str(IN.PNL_SINGLE), int_text(msg.req_id), dec(msg.position), dbl(msg.daily_pnl)]
    return [*fields, *_pnl_tail(v, msg.unrealized_pnl, msg.realized_pnl), dbl(msg.value)]


# --------------------------------------------------------------------------- history
#
# No message version fields at 157+ (SYNT_REALTIME_BARS, 124, dropped historicalData's). Before
# HISTORICAL_DATA_END (196) historicalData carries the span and ends the answer itself; from 196
# the span comes in historicalDataEnd (108), which below 196 is not sent at all (no fields).


def _bar_fields(bar: BarData) -> list[str]:
    return [
        text(bar.date),
        dbl(bar.open),
        dbl(bar.high),
        dbl(bar.low),
        dbl(bar.close),
        dec(bar.volume),
        dec(bar.wap),
        int_text(bar.barCount),
    ]


def _historical_data(v: int, msg: m.HistoricalData) -> list[str]:
    fields = [str(IN.HISTORICAL_DATA), int_text(msg.req_id)]
    if v < MIN_SERVER_VER_HISTORICAL_DATA_END:
        fields += [text(msg.start), text(msg.end)]
    fields.append(str(len(msg.bars)))
    for bar in msg.bars:
        fields += _bar_fields(bar)
    return fields


def _historical_data_end(v: int, msg: m.HistoricalDataEnd) -> list[str]:
    if v < MIN_SERVER_VER_HISTORICAL_DATA_END:
        return []
    return [str(IN.HISTORICAL_DATA_END), int_text(msg.req_id), text(msg.start), text(msg.end)]


def _historical_data_update(_v: int, msg: m.HistoricalDataUpdate) -> list[str]:
    bar = msg.bar
    return [
        str(IN.HISTORICAL_DATA_UPDATE),
        int_text(msg.req_id),
        int_text(bar.barCount),
        text(bar.date),
        dbl(bar.open),
        dbl(bar.close),
        dbl(bar.high),
        dbl(bar.low),
        dec(bar.wap),
        dec(bar.volume),
    ]


def _head_timestamp(_v: int, msg: m.HeadTimestamp) -> list[str]:
    return [str(IN.HEAD_TIMESTAMP), int_text(msg.req_id), text(msg.timestamp)]


def _historical_ticks(_v: int, msg: m.HistoricalTicks) -> list[str]:
    fields = [str(IN.HISTORICAL_TICKS), int_text(msg.req_id), str(len(msg.ticks))]
    for tick in msg.ticks:  # the second field is read and dropped by ibapi ("for consistency")
        fields += [int_text(tick.time), "0", dbl(tick.price), dec(tick.size)]
    return [*fields, flag(msg.done)]


def _historical_ticks_bid_ask(_v: int, msg: m.HistoricalTicksBidAsk) -> list[str]:
    fields = [str(IN.HISTORICAL_TICKS_BID_ASK), int_text(msg.req_id), str(len(msg.ticks))]
    for tick in msg.ticks:
        attrib = tick.tickAttribBidAsk
        mask = (1 if attrib.askPastHigh else 0) | (2 if attrib.bidPastLow else 0)
        fields += [int_text(tick.time), int_text(mask), dbl(tick.priceBid), dbl(tick.priceAsk)]
        fields += [dec(tick.sizeBid), dec(tick.sizeAsk)]
    return [*fields, flag(msg.done)]


def _historical_ticks_last(_v: int, msg: m.HistoricalTicksLast) -> list[str]:
    fields = [str(IN.HISTORICAL_TICKS_LAST), int_text(msg.req_id), str(len(msg.ticks))]
    for tick in msg.ticks:
        attrib = tick.tickAttribLast
        mask = (1 if attrib.pastLimit else 0) | (2 if attrib.unreported else 0)
        fields += [int_text(tick.time), int_text(mask), dbl(tick.price), dec(tick.size)]
        fields += [text(tick.exchange), text(tick.specialConditions)]
    return [*fields, flag(msg.done)]


# --------------------------------------------------------------------------- dispatch

M = TypeVar("M", bound=m.Message)
Encoder = Callable[[int, Any], list[str]]
_ENCODERS: dict[type[m.Message], Encoder] = {}


def _encodes(kind: type[M], encoder: Callable[[int, M], list[str]]) -> None:
    """Register ``encoder`` for ``kind``; the type checker sees that the two belong together."""
    _ENCODERS[kind] = encoder


_encodes(m.ManagedAccounts, _managed_accounts)
_encodes(m.NextValidId, _next_valid_id)
_encodes(m.CurrentTime, _current_time)
_encodes(m.CurrentTimeInMillis, _current_time_millis)
_encodes(m.ErrorMsg, _error)
_encodes(m.ContractData, _contract_data)
_encodes(m.ContractDataEnd, _contract_data_end)
_encodes(m.MarketRule, _market_rule)
_encodes(m.OpenOrder, open_order_fields)
_encodes(m.OpenOrderEnd, _open_order_end)
_encodes(m.OrderStatus, _order_status)
_encodes(m.ExecDetails, _exec_details)
_encodes(m.ExecDetailsEnd, _exec_details_end)
_encodes(m.CommissionReport, _commission_report)
_encodes(m.CompletedOrder, completed_order_fields)
_encodes(m.CompletedOrdersEnd, _completed_orders_end)
_encodes(m.Position, _position)
_encodes(m.PositionEnd, _position_end)
_encodes(m.AccountSummary, _account_summary)
_encodes(m.AccountSummaryEnd, _account_summary_end)
_encodes(m.AccountValue, _account_value)
_encodes(m.PortfolioValue, _portfolio_value)
_encodes(m.AccountUpdateTime, _account_update_time)
_encodes(m.AccountDownloadEnd, _account_download_end)
_encodes(m.ReceiveFA, _receive_fa)
_encodes(m.ReplaceFAEnd, _replace_fa_end)
_encodes(m.PositionMulti, _position_multi)
_encodes(m.PositionMultiEnd, _position_multi_end)
_encodes(m.AccountUpdateMulti, _account_update_multi)
_encodes(m.AccountUpdateMultiEnd, _account_update_multi_end)
_encodes(m.TickPrice, _tick_price)
_encodes(m.TickSize, _tick_size)
_encodes(m.TickString, _tick_string)
_encodes(m.TickGeneric, _tick_generic)
_encodes(m.TickReqParams, _tick_req_params)
_encodes(m.MarketDataType, _market_data_type)
_encodes(m.TickSnapshotEnd, _tick_snapshot_end)
_encodes(m.RealTimeBar, _real_time_bar)
_encodes(m.TickByTickLast, _tick_by_tick_last)
_encodes(m.TickByTickBidAsk, _tick_by_tick_bid_ask)
_encodes(m.TickByTickMidPoint, _tick_by_tick_mid_point)
_encodes(m.PnL, _pnl)
_encodes(m.PnLSingle, _pnl_single)
_encodes(m.HistoricalData, _historical_data)
_encodes(m.HistoricalDataEnd, _historical_data_end)
_encodes(m.HistoricalDataUpdate, _historical_data_update)
_encodes(m.HeadTimestamp, _head_timestamp)
_encodes(m.HistoricalTicks, _historical_ticks)
_encodes(m.HistoricalTicksBidAsk, _historical_ticks_bid_ask)
_encodes(m.HistoricalTicksLast, _historical_ticks_last)


def supported_messages() -> tuple[type[m.Message], ...]:
    return tuple(_ENCODERS)


def text_fields(version: int, msg: m.Message) -> list[str]:
    """The message as TWS writes it at ``version``: the message id first, then every field."""
    try:
        encoder = _ENCODERS[type(msg)]
    except KeyError:
        raise TypeError(f"no text encoding for {type(msg).__name__}") from None
    return encoder(version, msg)


def encode_text(version: int, msg: m.Message) -> bytes:
    """The frame payload (without the length prefix) of ``msg`` at ``version``; empty for a
    message that version folds into another (historicalDataEnd before 196): nothing is sent."""
    fields = text_fields(version, msg)
    if not fields:
        return b""
    return text_payload(version, int(fields[0]), fields[1:])
