"""The book's records as the Client Portal's JSON shapes: orders, trades, positions, contracts.

Numbers stay numbers (the Client Portal sends some as strings; a script reading them with
float() works either way); values the book does not know are null.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from ibapi.contract import ContractDetails

from ..book import OrderRecord
from ..book.model import Fill, Position
from ..quotes import Quote
from .mapping import TWS_TO_CP

__all__ = [
    "SNAPSHOT_FIELDS",
    "contract_info",
    "fill_view",
    "order_view",
    "position_view",
    "search_view",
    "snapshot_view",
]


def _num(value: Any) -> float | None:
    return None if value is None else float(value)


def strategy_of(order_ref: str, strategies: Collection[str]) -> str:
    """The strategy an orderRef names (a strategy's orders carry "name" or "name/yours")."""
    head = order_ref.split("/", 1)[0]
    return head if head in strategies else ""


def order_view(record: OrderRecord, strategies: Collection[str] = ()) -> dict[str, Any]:
    order, contract = record.order, record.contract
    ref = order.orderRef if order is not None else ""
    account = (order.account or order.faGroup) if order is not None else ""
    return {
        "acct": account,
        "faGroup": order.faGroup if order is not None else "",
        "conid": contract.conId if contract is not None else None,
        "orderId": record.order_id,
        "clientId": record.client_id,
        "permId": record.perm_id,
        "parentId": record.parent_id or None,
        "ticker": record.symbol,
        "secType": contract.secType if contract is not None else "",
        "listingExchange": contract.exchange if contract is not None else "",
        "side": record.action,
        "orderType": TWS_TO_CP.get(record.order_type, record.order_type),
        "price": record.limit_price,
        "auxPrice": record.aux_price,
        "totalSize": _num(record.total_quantity),
        "filledQuantity": float(record.filled),
        "remainingQuantity": _num(record.remaining),
        "avgPrice": record.avg_fill_price,
        "status": str(record.status),
        "timeInForce": record.tif,
        "order_ref": ref,
        "strategy": strategy_of(ref, strategies),
        "rejectReason": record.reject_reason or None,
    }


def fill_view(record: OrderRecord, fill: Fill) -> dict[str, Any]:
    side = "B" if fill.side == "BOT" else "S"
    return {
        "execution_id": fill.exec_id,
        "order_id": fill.order_id,
        "symbol": fill.symbol,
        "conid": fill.con_id,
        "side": side,
        "size": float(fill.shares),
        "price": fill.price,
        "trade_time": fill.time,
        "exchange": fill.exchange,
        "account": fill.account,
        "commission": fill.commission,
        "order_ref": record.order.orderRef if record.order is not None else "",
        "order_description": f"{'Bot' if side == 'B' else 'Sold'} {fill.shares} @ {fill.price} "
        f"on {fill.exchange}",
    }


def position_view(position: Position, price: float | None) -> dict[str, Any]:
    quantity = float(position.position)
    mult = 1.0
    if position.contract is not None and position.contract.multiplier:
        try:
            mult = float(position.contract.multiplier) or 1.0
        except ValueError:
            mult = 1.0
    avg_cost = position.avg_cost
    value = quantity * price * mult if price is not None else None
    unrealized = None
    if value is not None and avg_cost is not None:
        unrealized = value - quantity * avg_cost
    return {
        "acctId": position.account,
        "conid": position.con_id,
        "contractDesc": position.symbol,
        "ticker": position.symbol,
        "assetClass": position.sec_type,
        "currency": position.currency,
        "position": quantity,
        "avgCost": avg_cost,
        "avgPrice": avg_cost / mult if avg_cost is not None else None,
        "mktPrice": price,
        "mktValue": value,
        "unrealizedPnl": unrealized,
    }


def contract_info(details: ContractDetails) -> dict[str, Any]:
    c = details.contract
    return {
        "con_id": c.conId,
        "symbol": c.symbol,
        "company_name": details.longName,
        "instrument_type": c.secType,
        "exchange": c.exchange,
        "primary_exchange": c.primaryExchange,
        "valid_exchanges": details.validExchanges,
        "currency": c.currency,
        "local_symbol": c.localSymbol,
        "trading_class": c.tradingClass,
        "multiplier": c.multiplier or None,
        "min_tick": details.minTick,
        "industry": details.industry,
        "category": details.category,
        "time_zone": details.timeZoneId,
        "trading_hours": details.tradingHours,
        "liquid_hours": details.liquidHours,
        "order_types": [t for t in (details.orderTypes or "").split(",") if t],
    }


def search_view(found: Iterable[ContractDetails]) -> list[dict[str, Any]]:
    rows = []
    seen: set[int] = set()
    for details in found:
        c = details.contract
        if c.conId in seen:  # one row per contract, whatever exchanges TWS listed it on
            continue
        seen.add(c.conId)
        where = c.primaryExchange or c.exchange
        rows.append({
            "conid": c.conId,
            "symbol": c.symbol,
            "companyName": details.longName,
            "companyHeader": f"{details.longName} - {where}",
            "description": where,
            "currency": c.currency,
            "sections": [{"secType": c.secType, "exchange": details.validExchanges}],
        })  # fmt: skip
    return rows


#: Client Portal snapshot field ids this API serves, and the quote value each reads.
SNAPSHOT_FIELDS: dict[str, str] = {
    "31": "last",
    "55": "symbol",
    "70": "high",
    "71": "low",
    "84": "bid",
    "85": "ask_size",
    "86": "ask",
    "87": "volume",
    "88": "bid_size",
    "7295": "open",
    "7296": "close",
}


def snapshot_view(con_id: int, quote: Quote | None, fields: list[str]) -> dict[str, Any]:
    row: dict[str, Any] = {"conid": con_id, "conidEx": str(con_id)}
    for field in fields:
        value = getattr(quote, SNAPSHOT_FIELDS[field]) if quote is not None else None
        row[field] = value if isinstance(value, str) or value is None else float(value)
    if quote is not None:
        row["_updated"] = int(quote.updated.timestamp() * 1000) if quote.updated else None
        row["6509"] = {1: "R", 2: "Z", 3: "D", 4: "DZ"}.get(quote.data_type, "")
    return row
