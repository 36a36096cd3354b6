"""The order API of TwsApp: place, modify, cancel, and the start-up sync.

Every check happens before a byte is sent. Placing follows the rule in DESIGN.md: under the book
lock, allocate the id and register the record as PendingSubmit, then send, so that no callback
can ever arrive for an order the book does not know. A modify re-sends the order as this app
sent it (the book keeps it), with only the changed fields: never TWS's echo of it.
"""

from __future__ import annotations

import copy
import math
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from ibapi.const import UNSET_DOUBLE
from ibapi.contract import Contract, ContractDetails
from ibapi.execution import ExecutionFilter
from ibapi.order import Order
from ibapi.order_cancel import OrderCancel

from . import status as st
from .book import BookError
from .orders import OrderValidationError, PriceRules, validate_order
from .records import AUX_TYPES, LIMIT_TYPES, clean_decimal

if TYPE_CHECKING:
    from .book import OrderRecord
    from .client import TwsApp


class OrderRefused(ValueError):
    """The app refused a request before sending anything."""


class TradingMixin:
    """Mixed into TwsApp; relies on its book, ids, contracts and EClient methods."""

    def place(
        self: TwsApp, contract: Contract | ContractDetails | str, order: Order
    ) -> OrderRecord:
        """Validate, register and send a new order; returns its (live) record."""
        self._require_ready()
        details = self.contracts.resolve(contract)
        order = copy.copy(order)
        if not order.account and len(self.accounts) == 1:
            order.account = self.accounts[0]
        rules = self.contracts.price_rules(details)  # fetched once, then cached
        self._validate(details, order, rules)
        if not self.ids.wait_ready(self.request_timeout):
            raise OrderRefused(
                "no order id available: TWS has not answered reqIds "
                f"within {self.request_timeout:g}s; nothing was sent"
            )
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
        self._require_ready()
        changes: dict[str, object] = {}
        if price is not None:
            changes["lmtPrice"] = price
        if aux_price is not None:
            changes["auxPrice"] = aux_price
        if quantity is not None:
            changes["totalQuantity"] = quantity
        if tif is not None:
            changes["tif"] = tif
        if not changes:
            raise OrderRefused("modify needs at least one of price, quantity, aux_price, tif")
        record = self._known(order_id, "modify")
        if record.status in st.DONE:
            raise OrderRefused(
                f"order {order_id} is {record.status}: a done order cannot be modified; "
                "place a new order instead"
            )
        order_type = record.order_type
        for name, types, what in (
            ("lmtPrice", LIMIT_TYPES, "limit price (price=)"),
            ("auxPrice", AUX_TYPES, "stop / aux price (aux_price=)"),
        ):
            if name in changes and order_type not in types:
                raise OrderRefused(
                    f"order {order_id} is {order_type or 'of unknown type'}: it has no {what} "
                    "to change"
                )
        contract = self._contract_of(record)
        details = self.contracts.resolve(contract)
        rules = self.contracts.price_rules(details)  # fetched once, then cached
        with self.book.lock:
            try:
                order = self.book.preview_modify(order_id, changes)
            except (BookError, InvalidOperation, TypeError, ValueError) as exc:
                raise OrderRefused(f"modify of order {order_id} refused: {exc}") from exc
            self._validate(details, order, rules)
            filled = record.filled
            quantity_now = clean_decimal(order.totalQuantity)
            if quantity is not None and quantity_now is not None and quantity_now < filled:
                raise OrderRefused(
                    f"quantity {quantity_now} is below the {filled} already filled of order "
                    f"{order_id}: give at least {filled}"
                )
            mod = self.book.request_modify(order_id, changes)
            assert mod.order is not None
            self.placeOrder(order_id, contract, mod.order)
        return record

    def cancel(self: TwsApp, order_id: int) -> OrderRecord:
        """Ask TWS to cancel a working (or held) order; the book shows PendingCancel meanwhile."""
        self._require_ready()
        record = self._known(order_id, "cancel")
        if record.status in st.FINAL:
            raise OrderRefused(f"order {order_id} is already {record.status}: nothing to cancel")
        if record.status == st.INACTIVE and not record.acknowledged:
            # Refused before TWS took it (e.g. error 110 on placing): TWS holds nothing to cancel.
            raise OrderRefused(
                f"order {order_id} was rejected ({record.reject_reason}): TWS holds nothing "
                "to cancel"
            )
        with self.book.lock:
            try:
                self.book.request_cancel(order_id)
            except BookError as exc:  # it became done meanwhile
                raise OrderRefused(str(exc)) from exc
            self.cancelOrder(order_id, OrderCancel())
        return record

    def cancel_all(self: TwsApp) -> None:
        """reqGlobalCancel: TWS cancels every open order of the account, whoever placed it."""
        self._require_ready()
        self.reqGlobalCancel(OrderCancel())

    # ------------------------------------------------------------------ checks

    def _require_ready(self: TwsApp) -> None:
        if not self.ready:
            raise OrderRefused("not connected to TWS: call start() first; nothing was sent")

    def _known(self: TwsApp, order_id: int, what: str) -> OrderRecord:
        record = self.book.get(order_id)
        if record is None:
            raise OrderRefused(
                f"order {order_id} (client {self.client_id}) is not in the book: nothing to {what}"
            )
        return record

    def _contract_of(self: TwsApp, record: OrderRecord) -> Contract:
        """The contract to re-send: as this app sent it, else resolved from TWS's copy."""
        if record.sent_contract is not None:
            return record.sent_contract
        echo = record.contract
        if echo is None or not echo.conId:
            raise OrderRefused(f"order {record.order_id}: its contract is not known yet")
        details = self.contracts.by_conid(echo.conId)
        contract = copy.copy(details.contract)
        contract.exchange = echo.exchange or contract.exchange
        return contract

    def _validate(
        self: TwsApp, details: ContractDetails, order: Order, rules: PriceRules | None
    ) -> None:
        try:
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
        try:
            for pending in waits:
                pending.wait(timeout)
        finally:
            self.cancelAccountSummary(summary_id)
