"""Outbound text codec: the fields real TWS writes for each message, at each server version.

ibapi's text decoder (``decoder.py``, ``orderdecoder.py``) is the contract: for every server
version, every field written here is read by ``Decoder(wrapper, version)``, in order, with none
missing and none left over. Where a field may be spelled several ways that decode alike (``0`` /
``0.0``, empty / ``2147483647`` / ``1.7976931348623157E308``), the spelling is the one captured
from real TWS (``shared/fixtures/tws-captures.json``, and the public paper-Gateway transcripts at
server version 200 in the ThomasMarcelis/ibkr-go repository), so that a client comparing bytes or
strings sees exactly what TWS sends.

Order-shaped messages (openOrder, completedOrder) live in ``text_orders``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from decimal import Decimal

from ibapi.contract import Contract, ContractDetails
from ibapi.message import IN
from ibapi.server_versions import (
    MIN_SERVER_VER_ADVANCED_ORDER_REJECT,
    MIN_SERVER_VER_ERROR_TIME,
    MIN_SERVER_VER_FRACTIONAL_SIZE_SUPPORT,
    MIN_SERVER_VER_FUND_DATA_FIELDS,
    MIN_SERVER_VER_INELIGIBILITY_REASONS,
    MIN_SERVER_VER_LAST_LIQUIDITY,
    MIN_SERVER_VER_LAST_TRADE_DATE,
    MIN_SERVER_VER_MARKET_CAP_PRICE,
    MIN_SERVER_VER_MD_SIZE_MULTIPLIER,
    MIN_SERVER_VER_PENDING_PRICE_REVISION,
    MIN_SERVER_VER_SIZE_RULES,
    MIN_SERVER_VER_SUBMITTER,
)

from twsapp.sim import messages as m
from twsapp.sim.wire import (
    UNSET_DOUBLE,
    UNSET_INT,
    decimal_text,
    enum_code,
    java_double,
    last_trade_field,
    text_payload,
)

# Leading "version" fields TWS still writes for these messages (ibapi skips or checks them).
ERROR_VERSION = "2"
CONTRACT_DATA_VERSION = "8"
POSITION_VERSION = "3"
PORTFOLIO_VERSION = "8"
ACCOUNT_VALUE_VERSION = "2"
SIMPLE_VERSION = "1"

# --------------------------------------------------------------------------- spellings


def dbl(value: float) -> str:
    """Java ``Double.toString``: unset is ``1.7976931348623157E308``."""
    return java_double(value)


def dbl_max(value: float | None) -> str:
    """A double TWS leaves empty when unset (ibapi reads these with SHOW_UNSET)."""
    if value is None or value == UNSET_DOUBLE:
        return ""
    return java_double(value)


def dbl_zero(value: float | None) -> str:
    """A double TWS reports as ``0.0`` when the order never had one (lmtPrice of a MKT)."""
    if value is None or value == UNSET_DOUBLE:
        return "0.0"
    return java_double(value)


def plain(value: float) -> str:
    """TWS's plain number spelling (``0``, ``10``, ``0.00005``, ``196.52``): no exponent, no
    trailing ``.0``. Used where captures show it: strikes in orders and contract data, minTick,
    order-status prices, market-rule increments."""
    value = float(value)
    if value == UNSET_DOUBLE or not math.isfinite(value):
        return java_double(value)
    text = format(Decimal(repr(value)).normalize(), "f")
    return "0" if text == "-0" else text


def plain_zero(value: float | None) -> str:
    """Plain spelling where TWS writes ``0`` for an unset value (strike of a stock, cashQty)."""
    if value is None or value == UNSET_DOUBLE:
        return "0"
    return plain(value)


def int_text(value: int | None) -> str:
    return "0" if value is None else str(int(value))


def int_max(value: int | None) -> str:
    """An int TWS leaves empty when unset (ibapi reads these with SHOW_UNSET)."""
    if value is None or value == UNSET_INT:
        return ""
    return str(int(value))


def int_zero(value: int | None) -> str:
    """An int TWS reports as ``0`` when ibapi holds it unset (volatilityType, ...)."""
    if value is None or value == UNSET_INT:
        return "0"
    return str(int(value))


def flag(value: object) -> str:
    return "1" if value else "0"


def dec(value: Decimal | None) -> str:
    """Quantities in plain decimal; unset is empty."""
    return decimal_text(value)


def text(value: object) -> str:
    return "" if value is None else str(value)


def escaped(value: str | None) -> str:
    """Non-ASCII as ``\\uXXXX`` escapes (MIN_SERVER_VER_ENCODE_MSG_ASCII7): ibapi decodes error
    texts, long names and every string of a signature-decoded message with ``unicode-escape``."""
    out = []
    for ch in value or "":
        code = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif 0x20 <= code < 0x7F:
            out.append(ch)
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return "".join(out)


def right_or(contract: Contract, empty: str) -> str:
    return contract.right or empty


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


def tag_values(items: list | None) -> list[str]:
    """A TagValue list as TWS writes it: the count, then tag and value of each."""
    items = items or []
    fields = [str(len(items))]
    for item in items:
        fields += [text(item.tag), text(item.value)]
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


# --------------------------------------------------------------------------- dispatch

Encoder = Callable[[int, m.Message], list[str]]


@functools.cache
def _encoders() -> dict[type, Encoder]:
    from twsapp.sim import text_orders  # imports this module's spellings: resolve lazily

    return {
        m.ManagedAccounts: _managed_accounts,
        m.NextValidId: _next_valid_id,
        m.CurrentTime: _current_time,
        m.CurrentTimeInMillis: _current_time_millis,
        m.ErrorMsg: _error,
        m.ContractData: _contract_data,
        m.ContractDataEnd: _contract_data_end,
        m.MarketRule: _market_rule,
        m.OpenOrder: text_orders.open_order_fields,
        m.OpenOrderEnd: _open_order_end,
        m.OrderStatus: _order_status,
        m.ExecDetails: _exec_details,
        m.ExecDetailsEnd: _exec_details_end,
        m.CommissionReport: _commission_report,
        m.CompletedOrder: text_orders.completed_order_fields,
        m.CompletedOrdersEnd: _completed_orders_end,
        m.Position: _position,
        m.PositionEnd: _position_end,
        m.AccountSummary: _account_summary,
        m.AccountSummaryEnd: _account_summary_end,
        m.AccountValue: _account_value,
        m.PortfolioValue: _portfolio_value,
        m.AccountUpdateTime: _account_update_time,
        m.AccountDownloadEnd: _account_download_end,
    }


def supported_messages() -> tuple[type, ...]:
    return tuple(_encoders())


def text_fields(version: int, msg: m.Message) -> list[str]:
    """The message as TWS writes it at ``version``: the message id first, then every field."""
    try:
        encoder = _encoders()[type(msg)]
    except KeyError:
        raise TypeError(f"no text encoding for {type(msg).__name__}") from None
    return encoder(version, msg)


def encode_text(version: int, msg: m.Message) -> bytes:
    """The frame payload (without the length prefix) of ``msg`` at ``version``."""
    fields = text_fields(version, msg)
    return text_payload(version, int(fields[0]), fields[1:])
