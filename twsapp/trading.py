"""The order API of TwsApp: place, modify, cancel, and the start-up sync.

Every check happens before a byte is sent. Placing follows the rule in DESIGN.md: under the book
lock, allocate the id and register the record as PendingSubmit, then send, so that no callback
can ever arrive for an order the book does not know.
"""

from __future__ import annotations

import copy
import math
from decimal import Decimal
from typing import TYPE_CHECKING

from ibapi.contract import Contract
from ibapi.execution import ExecutionFilter
from ibapi.order import Order

from .orders import OrderValidationError, validate_order
from .status import DONE

if TYPE_CHECKING:
    from .book import OrderRecord
    from .client import TwsApp

UNSET_DOUBLE = 1.7976931348623157e308
MODIFIABLE = ("lmtPrice", "auxPrice", "totalQuantity", "tif", "trailingPercent", "trailStopPrice")


class OrderRefused(ValueError):
    """The app refused a request before sending anything."""


class TradingMixin:
    """Mixed into TwsApp; relies on its book, ids, contracts and EClient methods."""

    def place(self: TwsApp, contract: Contract | str, order: Order) -> OrderRecord:
        """Validate, register and send a new order; returns its (live) record."""
        if not self.ready:
            raise OrderRefused("not connected to TWS: call start() first")
        details = self.contracts.resolve(contract)
        order = copy.copy(order)
        if not order.account and len(self.accounts) == 1:
            order.account = self.accounts[0]
        self._validate(details, order)
        with self.book.lock:
            order_id = self.ids.next()
            order.orderId = order_id
            record = self.book.register_pending(self.client_id, order_id, details.contract, order)
            self.placeOrder(order_id, details.contract, order)
        return record

    def modify(
        self: TwsApp,
        order_id: int,
        *,
        price: float | None = None,
        quantity: Decimal | int | str | None = None,
        aux_price: float | None = None,
        tif: str | None = None,
    ) -> OrderRecord:
        """Re-send a working order with the same id and new price / size / aux / TIF."""
        record = self.book.get(order_id)
        if record is None:
            raise OrderRefused(f"order {order_id} is not in the book: nothing to modify")
        if record.status in DONE:
            raise OrderRefused(f"order {order_id} is {record.status}: a done order cannot change")
        order = copy.copy(record.order)
        changes: dict[str, object] = {}
        if price is not None:
            changes["lmtPrice"] = float(price)
        if aux_price is not None:
            changes["auxPrice"] = float(aux_price)
        if quantity is not None:
            changes["totalQuantity"] = Decimal(str(quantity))
        if tif is not None:
            changes["tif"] = tif
        if not changes:
            raise OrderRefused("modify needs at least one of price, quantity, aux_price, tif")
        for name, value in changes.items():
            setattr(order, name, value)
        details = self.contracts.resolve(record.contract)
        self._validate(details, order)
        with self.book.lock:
            self.book.request_modify(order_id, changes)
            self.placeOrder(order_id, record.contract, order)
        return record

    def cancel(self: TwsApp, order_id: int) -> OrderRecord:
        record = self.book.get(order_id)
        if record is None:
            raise OrderRefused(f"order {order_id} is not in the book: nothing to cancel")
        if record.status in DONE:
            raise OrderRefused(f"order {order_id} is already {record.status}")
        with self.book.lock:
            self.book.request_cancel(order_id)
            self.cancelOrder(order_id, _order_cancel())
        return record

    def cancel_all(self: TwsApp) -> None:
        self.reqGlobalCancel(_order_cancel())

    def _validate(self: TwsApp, details, order: Order) -> None:
        try:
            rules = self.contracts.price_rules(details)
            validate_order(
                order,
                min_tick=details.minTick,
                accounts=self.accounts,
                fa_groups=(),
                price_increments=rules,
            )
        except OrderValidationError as exc:
            raise OrderRefused(str(exc)) from exc
        for name in ("lmtPrice", "auxPrice"):
            value = getattr(order, name)
            if value != UNSET_DOUBLE and value is not None and not math.isfinite(value):
                raise OrderRefused(f"{name} must be a finite number, got {value!r}")

    # ------------------------------------------------------------------ sync

    def sync(self: TwsApp, timeout: float | None = None) -> None:
        """Load what TWS already knows: open and completed orders, executions, positions, account."""
        timeout = timeout or self.request_timeout
        waits = []
        waits.append(self.requests.open("openOrders", "reqOpenOrders"))
        self.reqOpenOrders()
        waits.append(self.requests.open("completedOrders", "reqCompletedOrders"))
        self.reqCompletedOrders(False)
        exec_id = self.requests.new_id()
        waits.append(self.requests.open(exec_id, "reqExecutions"))
        self.reqExecutions(exec_id, ExecutionFilter())
        waits.append(self.requests.open("positions", "reqPositions"))
        self.reqPositions()
        summary_id = self.requests.new_id()
        waits.append(self.requests.open(summary_id, "reqAccountSummary"))
        self.reqAccountSummary(summary_id, "All", "All")
        for pending in waits:
            pending.wait(timeout)
        self.cancelAccountSummary(summary_id)


def _order_cancel():
    from ibapi.order_cancel import OrderCancel

    return OrderCancel()
