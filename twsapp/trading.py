"""The order API of TwsApp: place, modify, cancel, and the start-up sync.

Every check happens before a byte is sent. Two locks, always taken in this order:

- the send lock, held from allocating an id (or recording a modify / cancel) until the message
  is on the socket: TWS answers 103 to an id lower than one it already received from this client,
  so allocation and sending must be atomic with respect to every other sender; and the book's
  record of pending modifies / cancels must be in the order they reach the wire;
- the book lock, held only to register the record (PendingSubmit) or the pending modify /
  cancel, never across the socket write: if TWS stops reading, the callbacks (which need the
  book lock) keep running. No callback can arrive for an order the book does not know: it is
  registered before it is sent, and TWS cannot answer what it has not received.

A modify re-sends the order as this app sent it (the book keeps it), with only the changed
fields: never TWS's echo of it.
"""

from __future__ import annotations

import copy
import math
import threading
import time
from collections.abc import Collection
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from ibapi.const import UNSET_DOUBLE
from ibapi.contract import Contract, ContractDetails
from ibapi.execution import ExecutionFilter
from ibapi.order import Order
from ibapi.order_cancel import OrderCancel

from . import status as st
from .book import BookError
from .ids import IdsExhausted, NotReadyError
from .orders import OrderValidationError, PriceRules, validate_order
from .records import AUX_TYPES, LIMIT_TYPES, clean_decimal

if TYPE_CHECKING:
    from .book import OrderRecord
    from .client import TwsApp


class OrderRefused(ValueError):
    """The app refused a request before sending anything."""


class SendLock:
    """Serializes the app's order messages; not reentrant, and says so instead of deadlocking.

    Book events of a place / modify / cancel are delivered on the calling thread when it leaves
    the book lock, before the message is sent, while it holds this lock. A subscriber that places
    from there would put a higher id on the wire first (error 103): it is refused instead. Book
    subscribers should hand work to another thread (a strategy's queue does).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._owner: int | None = None

    def __enter__(self) -> SendLock:
        if self._owner == threading.get_ident():
            raise OrderRefused(
                "an order request was made from a book event delivered while this thread is "
                "sending an order: hand it to another thread (e.g. a strategy's queue); "
                "nothing was sent"
            )
        self._lock.acquire()
        self._owner = threading.get_ident()
        return self

    def __exit__(self, *exc: object) -> None:
        self._owner = None
        self._lock.release()


class TradingMixin:
    """Mixed into TwsApp; relies on its book, ids, contracts and EClient methods."""

    def place(
        self: TwsApp, contract: Contract | ContractDetails | str, order: Order
    ) -> OrderRecord:
        """Validate, register and send a new order; returns its (live) record.

        An order naming no account (nor FA group) gets the app's default account
        (``default_account``, tws.account), else the only managed account.
        """
        self._require_ready()
        details = self.contracts.resolve(contract)
        order = copy.copy(order)
        if not order.account and not order.faGroup:
            self._fill_default_account(order)
        rules = self.contracts.price_rules(details)  # fetched once, then cached
        self._validate(details, order, rules)
        deadline = time.monotonic() + self.request_timeout
        while True:
            if not self.ids.wait_ready(max(0.0, deadline - time.monotonic())):
                self._require_ready()
                raise OrderRefused(
                    "no order id available: TWS has not answered reqIds "
                    f"within {self.request_timeout:g}s; nothing was sent"
                )
            with self._send_lock:
                self._require_ready()
                try:
                    order_id = self.ids.next()
                except IdsExhausted as exc:
                    raise OrderRefused(f"{exc}; nothing was sent") from exc
                except NotReadyError:
                    continue  # a 103 (or a disconnect) since the wait: wait for new ids
                order.orderId = order_id
                record = self.book.register_pending(
                    self.client_id, order_id, details.contract, order
                )  # takes and releases the book lock: never held across the send
                self.placeOrder(order_id, details.contract, order)
                return record

    def _fill_default_account(self: TwsApp, order: Order) -> None:
        default = self.default_account
        if default and self.fa_groups is not None and default in self.fa_groups:
            order.faGroup = default
        elif default:
            order.account = default
        elif len(self.accounts) == 1:
            order.account = self.accounts[0]

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
        with self._send_lock:  # the book's pending modifies are in wire order
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
        with self._send_lock:
            try:
                self.book.request_cancel(order_id)  # the book lock, only while it records
            except BookError as exc:  # it became done meanwhile
                raise OrderRefused(str(exc)) from exc
            self.cancelOrder(order_id, OrderCancel())
        return record

    def cancel_all(self: TwsApp) -> None:
        """reqGlobalCancel: TWS cancels every open order of the account, whoever placed it."""
        self._require_ready()
        with self._send_lock:
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
        groups: Collection[str] = self.fa_groups if self.fa_groups is not None else ()
        if self.fa_groups is None and order.faGroup:
            groups = (order.faGroup,)  # groups not known here (tws mode): TWS checks the name
        try:
            validate_order(
                order,
                min_tick=details.minTick,
                accounts=self.accounts,
                fa_groups=groups,
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
