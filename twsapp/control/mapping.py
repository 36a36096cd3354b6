"""Client Portal order fields -> TWS's Order and Contract, and back for refusals.

Everything here is checked before anything is sent: a field an order type does not read, an
account or group this login does not have, a ticker or secType that contradicts the conid.
What TWS's own rules decide (price fields required, ticks, TIFs, placeable types) is left to
the app's validation (orders.py), whose refusals name the ibapi attribute: ``field_name``
says it back in the Client Portal's words.
"""

from __future__ import annotations

import copy
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from ibapi.contract import Contract, ContractDetails
from ibapi.order import Order
from ibapi.tag_value import TagValue

from .models import INT32_MAX, ModifyBody, OrderBody

__all__ = ["ALGOS", "BadRequest", "Target", "cp_field", "modify_changes", "to_order"]

#: Client Portal order type -> (TWS order type, Client Portal price field -> ibapi attribute).
TYPES: dict[str, tuple[str, dict[str, str]]] = {
    "MKT": ("MKT", {}),
    "LMT": ("LMT", {"price": "lmtPrice"}),
    "STP": ("STP", {"price": "auxPrice"}),
    "STOP_LIMIT": ("STP LMT", {"price": "lmtPrice", "auxPrice": "auxPrice"}),
    "TRAIL": ("TRAIL", {"auxPrice": "trailStopPrice"}),
    "TRAILLMT": ("TRAIL LIMIT", {"price": "lmtPrice", "auxPrice": "trailStopPrice"}),
    "MOC": ("MOC", {}),
    "LOC": ("LOC", {"price": "lmtPrice"}),
    "MIT": ("MIT", {"price": "auxPrice"}),
    "LIT": ("LIT", {"price": "lmtPrice", "auxPrice": "auxPrice"}),
    "MIDPRICE": ("MIDPRICE", {"price": "lmtPrice"}),
    "REL": ("REL", {"price": "lmtPrice", "auxPrice": "auxPrice"}),
}
TWS_TO_CP = {tws: cp for cp, (tws, _) in TYPES.items()}
TRAILING = ("TRAIL", "TRAILLMT")
#: IB algos twsapp sends, with the parameters each takes and their allowed values.
ALGOS: dict[str, dict[str, tuple[str, ...]]] = {
    "Adaptive": {"adaptivePriority": ("Urgent", "Normal", "Patient")},
}
FA_METHODS = ("AvailableEquity", "EqualQuantity", "NetLiq", "PctChange")
SIDES = ("BUY", "SELL")


class BadRequest(Exception):
    """A request refused with 4xx: ``field`` names the request field, ``status`` the code."""

    def __init__(self, field: str, reason: str, status: int = 400) -> None:
        super().__init__(f"{field}: {reason}" if field else reason)
        self.field = field
        self.reason = reason
        self.status = status


@dataclass(frozen=True)
class Target:
    """Where an order goes: an account, or an FA allocation group."""

    account: str = ""
    group: str = ""

    @property
    def name(self) -> str:
        return self.group or self.account


def cp_field(cp_type: str, attr: str) -> str:
    """The Client Portal field an ibapi Order attribute stands for in this type."""
    for cp_name, ib_attr in TYPES.get(cp_type, ("", {}))[1].items():
        if ib_attr == attr:
            return cp_name
    return {
        "totalQuantity": "quantity",
        "action": "side",
        "tif": "tif",
        "orderType": "orderType",
        "account": "acctId",
        "faGroup": "acctId",
        "auxPrice": "trailingAmt",
        "trailingPercent": "trailingAmt",
        "outsideRth": "outsideRTH",
        "faMethod": "allocationMethod",
    }.get(attr, attr)


def check_contract(where: str, body: OrderBody | ModifyBody, details: ContractDetails) -> None:
    """The body's ticker and secType must agree with the conid's contract."""
    contract = details.contract
    if body.ticker is not None and body.ticker.strip().upper() != contract.symbol.upper():
        raise BadRequest(f"{where}.ticker", f"{body.ticker!r} is not the symbol of conid "
                         f"{contract.conId} ({contract.symbol})")  # fmt: skip
    if body.secType is not None:
        _, _, kind = body.secType.partition(":")
        if kind and kind.upper() != contract.secType:
            raise BadRequest(f"{where}.secType", f"conid {contract.conId} is a "
                             f"{contract.secType}, not {kind}")  # fmt: skip
    exchange = body.listingExchange
    if exchange is not None and exchange.upper() not in _exchanges(details):
        raise BadRequest(f"{where}.listingExchange", f"{exchange!r} is not where conid "
                         f"{contract.conId} trades: {details.validExchanges}")  # fmt: skip


def _exchanges(details: ContractDetails) -> set[str]:
    found = {x.strip().upper() for x in (details.validExchanges or "").split(",") if x.strip()}
    return found | {(details.contract.exchange or "SMART").upper()}


def conid_of(where: str, body: OrderBody | ModifyBody) -> int | None:
    """The conid of ``conid``, else of ``secType`` ("265598:STK"); they must agree."""
    from_type: int | None = None
    if body.secType is not None:
        head, _, _ = body.secType.partition(":")
        if not head.strip().isdigit() or not 0 < int(head) <= INT32_MAX:
            raise BadRequest(f"{where}.secType", f'expected "conid:secType" such as '
                             f'"265598:STK", got {body.secType!r}')  # fmt: skip
        from_type = int(head)
    if body.conid is not None and from_type is not None and body.conid != from_type:
        raise BadRequest(f"{where}.secType", f"names conid {from_type}, but conid is {body.conid}")
    return body.conid or from_type


def contract_for(body: OrderBody | ModifyBody, details: ContractDetails) -> Contract:
    contract = copy.copy(details.contract)
    if body.listingExchange:
        contract.exchange = body.listingExchange.upper()
    return contract


def to_order(where: str, body: OrderBody, target: Target) -> Order:
    """The ibapi Order of one Client Portal order (its account or group already resolved)."""
    order = Order()
    side = body.side.strip().upper()
    if side not in SIDES:
        raise BadRequest(f"{where}.side", f"expected BUY or SELL, got {body.side!r}")
    order.action = side
    order.totalQuantity = body.quantity
    tws_type, fields = TYPES[body.orderType]
    order.orderType = tws_type
    order.tif = body.tif.strip().upper()
    order.outsideRth = body.outsideRTH
    for name in ("price", "auxPrice"):
        value = getattr(body, name)
        if value is None:
            continue
        if name not in fields:
            raise BadRequest(f"{where}.{name}", f"{body.orderType} orders do not use it")
        setattr(order, fields[name], value)
    _trailing(where, body, order)
    order.orderRef = body.cOID or body.referrer or ""
    if target.group:
        order.faGroup = target.group
        if body.allocationMethod is not None:
            if body.allocationMethod not in FA_METHODS:
                raise BadRequest(f"{where}.allocationMethod", f"expected one of "
                                 f"{', '.join(FA_METHODS)}, got {body.allocationMethod!r}")  # fmt: skip
            order.faMethod = body.allocationMethod
    else:
        order.account = target.account
        if body.allocationMethod is not None:
            raise BadRequest(f"{where}.allocationMethod", "only an order to an allocation group "
                             f"has one; {target.account} is an account")  # fmt: skip
    _algo(where, body, order)
    if body.isClose:
        order.openClose = "C"
    return order


def _trailing(where: str, body: OrderBody | ModifyBody, order: Order) -> None:
    if body.trailingAmt is None and body.trailingType is None:
        return
    cp_type = body.orderType or TWS_TO_CP.get(order.orderType, "")
    if cp_type not in TRAILING:
        raise BadRequest(f"{where}.trailingAmt", f"{cp_type} orders do not trail")
    if body.trailingAmt is None or body.trailingType is None:
        missing = "trailingType" if body.trailingAmt is not None else "trailingAmt"
        raise BadRequest(f"{where}.{missing}", "trailingAmt and trailingType go together")
    if body.trailingType == "%":
        order.trailingPercent = body.trailingAmt
    else:
        order.auxPrice = body.trailingAmt


def _algo(where: str, body: OrderBody, order: Order) -> None:
    name = "Adaptive" if body.useAdaptive and body.strategy is None else body.strategy
    if name is None:
        if body.strategyParameters:
            raise BadRequest(f"{where}.strategyParameters", "given without a strategy")
        return
    if body.useAdaptive and name != "Adaptive":
        raise BadRequest(f"{where}.strategy", f"useAdaptive asks for Adaptive, not {name!r}")
    if name not in ALGOS:
        raise BadRequest(f"{where}.strategy", f"{name!r} is not an algo twsapp sends (GET "
                         f"iserver/contract/{{conid}}/algos lists them: {', '.join(ALGOS)})")  # fmt: skip
    allowed = ALGOS[name]
    params = dict(body.strategyParameters or {"adaptivePriority": "Normal"})
    tags = []
    for key, value in params.items():
        if key not in allowed or str(value) not in allowed[key]:
            raise BadRequest(f"{where}.strategyParameters.{key}", f"{name} takes "
                             + "; ".join(f"{k}: {', '.join(v)}" for k, v in allowed.items()))  # fmt: skip
        tags.append(TagValue(key, str(value)))
    order.algoStrategy = name
    order.algoParams = tags


def resolve_target(
    where: str, name: str, accounts: Collection[str], groups: Collection[str]
) -> Target:
    if name in accounts:
        return Target(account=name)
    if name in groups:
        return Target(group=name)
    known = ", ".join(accounts) or "none"
    if groups:
        known += "; allocation groups: " + ", ".join(groups)
    raise BadRequest(where, f"{name!r} is not an account or allocation group of this login "
                     f"(accounts: {known})", 404 if where == "accountId" else 400)  # fmt: skip


def modify_changes(body: ModifyBody, record: Any) -> dict[str, Any]:
    """What a modify body changes, as ``TwsApp.modify`` keywords; what it cannot change (the
    contract, the side, the type, the account) must be absent or equal to the order's."""
    order = record.order
    if order is None:
        raise BadRequest("orderId", f"order {record.order_id}: its terms are not known yet "
                         "(TWS has not reported it): try again", 409)  # fmt: skip
    tws_type = record.order_type
    cp_type = TWS_TO_CP.get(tws_type, tws_type)
    contract = record.contract
    fixed: dict[str, tuple[Any, Any]] = {
        "conid": (body.conid, contract.conId if contract is not None else None),
        "side": (body.side.strip().upper() if body.side else None, order.action),
        "orderType": (body.orderType, cp_type),
    }
    for name, (given, current) in fixed.items():
        if given is not None and given != current:
            raise BadRequest(name, f"an order's {name} cannot change ({current} now): cancel it "
                             "and place a new order")  # fmt: skip
    if body.acctId is not None and body.acctId not in (order.account, order.faGroup):
        raise BadRequest("acctId", "an order's account cannot change: cancel it and place anew")
    changes: dict[str, Any] = {}
    fields = TYPES.get(cp_type, (tws_type, {}))[1]
    for name in ("price", "auxPrice"):
        value = getattr(body, name)
        if value is None:
            continue
        if name not in fields:
            raise BadRequest(name, f"{cp_type} orders do not use it")
        if value != record.price(fields[name]):
            changes[fields[name]] = value
    if body.quantity is not None and body.quantity != record.total_quantity:
        changes["quantity"] = body.quantity
    if body.tif is not None and body.tif.strip().upper() != (order.tif or "DAY"):
        changes["tif"] = body.tif.strip().upper()
    probe = Order()
    probe.orderType = tws_type
    _trailing("", body, probe)
    for attr in ("auxPrice", "trailingPercent"):
        value = getattr(probe, attr)
        if body.trailingAmt is not None and value == body.trailingAmt:
            changes[attr] = value
    if body.outsideRTH is not None and body.outsideRTH != bool(order.outsideRth):
        raise BadRequest("outsideRTH", "cannot change on a working order: cancel and place anew")
    if not changes:
        raise BadRequest("", "the body changes nothing: give a new price, auxPrice, quantity or "
                         "tif")  # fmt: skip
    return changes
