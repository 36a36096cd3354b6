"""The order API: place, place a bracket, modify, cancel, and the start-up sync.

Every check happens before a byte is sent. Two locks, always taken in this order:

- the send lock, held from allocating an id (or recording a modify / cancel) until the message
  is queued for the socket (the pacer, pacing.py, writes new orders in the order queued, and a
  cancel never ahead of its own order's message): TWS answers 103 to an id lower than one it already received from this client,
  so allocation and sending must be atomic with respect to every other sender; and the book's
  record of pending modifies / cancels must be in the order they reach the wire;
- the book lock, held only to register the record (PendingSubmit) or the pending modify /
  cancel, never across the socket write: if TWS stops reading, the callbacks (which need the
  book lock) keep running. No callback can arrive for an order the book does not know: it is
  registered before it is sent, and TWS cannot answer what it has not received.

A modify re-sends the order as this app sent it (the book keeps it), with only the changed
fields: never TWS's echo of it. With a journal, each intent is recorded before its message
is queued, so a crashed run knows what it may have sent. What a modify may change is the order type's row in
order_types.py.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections.abc import Callable, Collection, Sequence
from decimal import InvalidOperation
from typing import TYPE_CHECKING, Any, Protocol

from ibapi.contract import Contract, ContractDetails
from ibapi.execution import ExecutionFilter
from ibapi.order import Order
from ibapi.order_cancel import OrderCancel

from ..book import OrderBook, OrderRecord
from ..book import status as st
from ..book.cleaning import clean_decimal
from ..book.status import Status
from ..exceptions import (
    BookError,
    IdsExhausted,
    NotReadyError,
    OrderRefused,
    OrderValidationError,
    TwsAppError,
)
from ..journal import Journal
from ..order_types import attr_for
from ..orders import PriceRules, check_bracket, unchanged_since_built, validate_order
from .contracts import ContractService
from .ids import OrderIdAllocator
from .pacing import Efficiency, Pacer
from .requests import RequestTracker

if TYPE_CHECKING:
    from ibapi.client import EClient

log = logging.getLogger("twsapp.session")


class SendLock:
    """Serializes the app's order messages; not reentrant, and says so instead of deadlocking.

    A place / modify / cancel holds it from taking the order id (or recording the request) until
    the message is on the socket; its own events are delivered after that, by the same thread
    (``EventBus.held``). A subscriber that reached the order API from inside a send anyway (it
    should hand its work to another thread, as a strategy's queue does) is refused: it would
    put a higher id on the wire first (error 103).
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


# The list attributes of ibapi's Order: copied with the order, so that a caller appending to
# its own list after placing cannot change the order the book keeps.
_ORDER_LISTS = ("conditions", "algoParams", "smartComboRoutingParams", "orderComboLegs",
                "orderMiscOptions")  # fmt: skip


def _own_copy(order: Order) -> Order:
    if type(order) is Order:  # copy.copy's generic path costs 3 times as much
        copied = object.__new__(Order)
        copied.__dict__.update(order.__dict__)
    else:
        copied = copy.copy(order)
    for name in _ORDER_LISTS:
        value = getattr(copied, name, None)
        if value is not None:  # empty too: the caller may append to its list later
            setattr(copied, name, list(value))
    return copied


class SessionView(Protocol):
    """What the order API needs to know of the session; the app is one."""

    client_id: int
    accounts: list[str]
    default_account: str
    fa_groups: frozenset[str] | None
    request_timeout: float

    @property
    def ready(self) -> bool: ...

    @property
    def unreachable(self) -> str:
        """Why TWS cannot take orders for now (reconnecting, resyncing, TWS's link to IB
        lost), "" when it can or when the session is simply not started or stopped."""
        ...


class OrderApi:
    """place / modify / cancel / sync, over the wire the session owns."""

    def __init__(
        self,
        session: SessionView,
        client: EClient,
        book: OrderBook,
        ids: OrderIdAllocator,
        contracts: ContractService,
        requests: RequestTracker,
        pacer: Pacer | None = None,
        efficiency: Efficiency | None = None,
        journal: Journal | None = None,
    ) -> None:
        self.journal = journal  # every intent recorded before its message is sent
        self._session = session
        self._pacer = pacer or Pacer(None)
        self._efficiency = efficiency
        self._client = client
        self._book = book
        self.ids = ids
        self._contracts = contracts
        self._requests = requests
        self.send_lock = SendLock()
        self._closed = ""  # why orders are refused from now on ("" while they are not)
        self._lock = threading.Lock()
        # Orders sent as part of a bracket: all but the last went out with transmit=False, and
        # a modify of any of them must go out (the bracket as a whole is transmitted).
        self._grouped: set[tuple[int, int]] = set()
        # [risk]'s check (risk.RiskGuard.check), set by the app: raises to hold an order back.
        self.risk_check: Callable[[ContractDetails, Order], None] | None = None
        # [tws] while_disconnected: "refuse" an order while TWS is unreachable, or "queue" it
        # (registered and journaled at once, sent after the resync: release_held).
        self.while_disconnected = "refuse"
        self._held: list[tuple[ContractDetails, list[Order]]] = []

    def place(self, contract: Contract | ContractDetails | str, order: Order) -> OrderRecord:
        """Validate, register and send a new order; returns its (live) record."""
        if self._holding():
            return self._hold(contract, [order])[0]
        self._require_ready()
        details = self._contracts.resolve(contract)
        return self._send_new(details, [self._checked(details, order)])[0]

    def place_bracket(
        self, contract: Contract | ContractDetails | str, orders: Sequence[Order]
    ) -> list[OrderRecord]:
        """A parent and its children (``orders.bracket``), all validated before any is sent;
        ids allocated together under the send lock, ``parentId`` set on the children, only the
        last one transmitted (TWS holds the others until it arrives), sent in that order."""
        if self._holding():
            return self._hold(contract, orders, bracket=True)
        self._require_ready()
        details = self._contracts.resolve(contract)
        checked = self._checked_bracket(details, orders)
        records = self._send_new(details, checked, bracket=True)
        with self._lock:
            self._grouped.update(record.key for record in records)
        return records

    def _checked_bracket(self, details: ContractDetails, orders: Sequence[Order]) -> list[Order]:
        checked = [self._checked(details, order) for order in orders]
        try:
            check_bracket(checked)
        except OrderValidationError as exc:
            raise OrderValidationError(exc.field, f"{exc}; nothing was sent") from exc
        for order in checked:
            order.transmit = order is checked[-1]
        return checked

    # ------------------------------------------------------------------ held orders

    def _holding(self) -> bool:
        return (
            self.while_disconnected == "queue"
            and not self._closed
            and bool(self._session.unreachable)
        )

    def _hold(
        self,
        contract: Contract | ContractDetails | str,
        orders: Sequence[Order],
        bracket: bool = False,
    ) -> list[OrderRecord]:
        """[tws] while_disconnected = "queue": validated now, registered (PendingSubmit) and
        journaled with an id now, sent once after the resync (``release_held``), in order."""
        why = self._session.unreachable
        try:
            details = self._contracts.resolve(contract)
        except TwsAppError as exc:
            raise OrderRefused(
                f"TWS is unreachable ({why}) and the contract is not known yet ({exc}): the "
                "order was neither held nor sent; place it again once connected"
            ) from exc
        checked = self._checked_bracket(details, orders) if bracket else [
            self._checked(details, orders[0])]  # fmt: skip
        with self._book.bus.held(), self.send_lock:
            if self._closed:
                raise OrderRefused(f"orders are closed ({self._closed}): nothing was sent")
            try:
                ids = [self.ids.next_held() for _ in checked]
            except IdsExhausted as exc:
                raise OrderRefused(f"{exc}; nothing was sent") from exc
            records: list[OrderRecord] = []
            try:
                self._register(details, checked, ids, bracket, records)
                self._held.append((details, checked))
            finally:
                self._book.announce(records)
        log.warning("TWS is unreachable (%s): order(s) %s held, to be sent after the resync "
                    "([tws] while_disconnected = \"queue\")", why,
                    ", ".join(map(str, ids)))  # fmt: skip
        if bracket:
            with self._lock:
                self._grouped.update(record.key for record in records)
        return records

    def held_keys(self) -> set[tuple[int, int]]:
        """The orders held for the reconnect, not sent yet."""
        with self.send_lock:
            return {(o.clientId or self._session.client_id, o.orderId)
                    for _, orders in self._held for o in orders}  # fmt: skip

    def release_held(self) -> int:
        """Send the held orders, in the order they were placed (after the resync). A held
        order cancelled meanwhile is not among them. Returns how many were sent."""
        sent = 0
        with self._book.bus.held(), self.send_lock:
            held, self._held = self._held, []
            for details, orders in held:
                for order in orders:
                    with self._pacer.tagged("place", order.orderId):
                        self._client.placeOrder(order.orderId, details.contract, order)
                self._count("submits", len(orders))
                sent += len(orders)
        if sent:
            log.info("%d held order(s) sent after the resync", sent)
        return sent

    def _cancel_held(self, order_id: int) -> OrderRecord | None:
        """Cancel an order still held: it never leaves; None when it is not held."""
        with self._book.bus.held(), self.send_lock:
            for index, (_, orders) in enumerate(self._held):
                if any(o.orderId == order_id for o in orders):
                    del self._held[index]
                    break
            else:
                return None
            self._drop_held(orders, "cancelled before it was sent (held while TWS was unreachable)")
        return self._book.get(order_id)

    def _drop_held(self, orders: list[Order], text: str) -> None:
        """Held orders that will never leave: Cancelled (202), journaled like TWS's word."""
        for order in orders:
            self._journal("error", order.orderId, 202, text, "", 0)
            self._book.on_error(order.orderId, 202, text, "", 0)

    def _checked(self, details: ContractDetails, order: Order, risk: bool = True) -> Order:
        """A copy of the order with the default account filled in, validated (OrderRefused).

        The copy is the one the book keeps and the wire sends: the caller may reuse its own
        object. Shallow but for the order's lists, which are copied too (a deep copy costs
        30 times as much, and the elements are never changed in place by twsapp). The checks
        of the order's own fields are not run again when a builder ran them on these values."""
        built, order = order, _own_copy(order)
        fields_checked = unchanged_since_built(built, order)
        if not order.account and not order.faGroup:
            self._fill_default_account(order)
        rules = self._contracts.price_rules(details)  # fetched once, then cached
        self._validate(details, order, rules, fields_checked)
        if risk and self.risk_check is not None:  # [risk]; not for a what-if, which places nothing
            self.risk_check(details, order)  # outside every lock: it may ask TWS for a quote
        return order

    def _send_new(
        self, details: ContractDetails, orders: list[Order], bracket: bool = False
    ) -> list[OrderRecord]:
        """Allocate ids, register and send checked orders, atomically with respect to every
        other sender; with ``bracket``, the orders after the first are its children."""
        timeout = self._session.request_timeout
        deadline = time.monotonic() + timeout
        waited = False  # ids are usually ready: ask first (next() says if not), wait if not
        while True:
            if waited and not self.ids.wait_ready(max(0.0, deadline - time.monotonic())):
                self._require_ready()
                raise OrderRefused(
                    f"no order id available: TWS has not answered reqIds within {timeout:g}s; "
                    "nothing was sent"
                )
            waited = True
            with self._book.bus.held(), self.send_lock:  # events delivered once it is sent
                self._require_ready()
                try:  # consecutive, unless an id TWS reports meanwhile raises the mark
                    ids = [self.ids.next() for _ in orders]
                except IdsExhausted as exc:
                    raise OrderRefused(f"{exc}; nothing was sent") from exc
                except NotReadyError:
                    continue  # not yet, or a 103 (or a disconnect) since: wait for new ids
                records: list[OrderRecord] = []
                try:
                    self._register(details, orders, ids, bracket, records)
                    for order_id, order in zip(ids, orders, strict=True):
                        with self._pacer.tagged("place", order_id):
                            self._client.placeOrder(order_id, details.contract, order)
                    self._count("submits", len(orders))
                finally:
                    self._book.announce(records)  # once out (or failed): what waited for it
                return records

    def _register(
        self,
        details: ContractDetails,
        orders: list[Order],
        ids: list[int],
        bracket: bool,
        records: list[OrderRecord],
    ) -> None:
        """Give each order its id (a bracket's children their parent's) and register it
        (PendingSubmit) into ``records``, journaled; under the send lock, before anything is
        sent. The caller announces ``records`` whatever happens, even if this fails half-way."""
        client_id = self._session.client_id
        for order_id, order in zip(ids, orders, strict=True):
            order.orderId = order_id
            if bracket and order is not orders[0]:
                order.parentId = ids[0]
            records.append(
                self._book.register_pending(
                    client_id, order_id, details.contract, order, sending=True
                )
            )  # takes and releases the book lock: never held across the send
            self._journal("place", client_id, order_id, details.contract, order)

    def _fill_default_account(self, order: Order) -> None:
        session = self._session
        default = session.default_account
        if default and session.fa_groups is not None and default in session.fa_groups:
            order.faGroup = default
        elif default:
            order.account = default
        elif len(session.accounts) == 1:
            order.account = session.accounts[0]

    def modify(self, order_id: int, **changes: Any) -> OrderRecord:
        """Re-send a working order with the same id and new terms (order_types.py says which:
        size, TIF and the type's price fields, by keyword or ibapi attribute name)."""
        self._require_ready()
        if not changes:
            keywords = ("price", "quantity", "aux_price", "tif")
            raise OrderRefused(
                f"modify needs at least one of {', '.join(keywords)} (or a field of the "
                "order's type, e.g. stop_price, trailing_percent)"
            )
        record = self._known(order_id, "modify")
        if record.status in st.DONE:
            raise OrderRefused(
                f"order {order_id} is {record.status}: a done order cannot be modified; "
                "place a new order instead"
            )
        contract = self._contract_of(record)
        details = self._contracts.resolve(contract)
        rules = self._contracts.price_rules(details)  # fetched once, then cached
        with self._book.bus.held(), self.send_lock:  # pending modifies are in wire order
            self._require_ready()
            with self._book.lock:
                try:
                    order = self._book.preview_modify(order_id, changes)
                except (BookError, InvalidOperation, TypeError, ValueError) as exc:
                    field = getattr(exc, "field", "")  # a BookError names it
                    raise OrderRefused(f"modify of order {order_id} refused: {exc}", field) from exc
                self._validate(details, order, rules)
                filled = record.filled
                quantity_now = clean_decimal(order.totalQuantity)
                sizes = [attr_for(record.order_type, k) for k in changes]
                if "totalQuantity" in sizes and quantity_now is not None and quantity_now < filled:
                    raise OrderRefused(
                        f"quantity {quantity_now} is below the {filled} already filled of "
                        f"order {order_id}: give at least {filled}",
                        "totalQuantity",
                    )
                mod = self._book.request_modify(order_id, changes)
                self._journal("modify", self._session.client_id, order_id, changes)
            assert mod.order is not None
            with self._lock:
                if record.key in self._grouped:
                    mod.order.transmit = True
            if mod.order.parentId and self._parent_done(record, mod.order.parentId):
                # TWS forgets a filled parent: a child re-sent with its id is refused (135).
                mod.order.parentId = 0
            with self._pacer.tagged("modify", order_id):
                self._client.placeOrder(order_id, contract, mod.order)
            self._count("modifies")
        return record

    def _parent_done(self, child: OrderRecord, parent_id: int) -> bool:
        parent = self._book.get(parent_id, child.client_id)
        return parent is not None and parent.status in st.DONE

    def cancel(self, order_id: int) -> OrderRecord:
        """Ask TWS to cancel a working (or held) order; the book shows PendingCancel meanwhile.
        An order still held for the reconnect is cancelled at once, never sent."""
        if self._held and not self._closed:
            held = self._cancel_held(order_id)
            if held is not None:
                return held
        self._require_ready()
        record = self._known(order_id, "cancel")
        if record.status in st.FINAL:
            raise OrderRefused(f"order {order_id} is already {record.status}: nothing to cancel")
        if record.status == Status.INACTIVE and not record.acknowledged:
            # Refused before TWS took it (e.g. error 110 on placing): TWS holds nothing to cancel.
            raise OrderRefused(
                f"order {order_id} was rejected ({record.reject_reason}): TWS holds nothing "
                "to cancel"
            )
        with self._book.bus.held(), self.send_lock:
            self._require_ready()
            try:
                self._book.request_cancel(order_id)  # the book lock, only while it records
            except BookError as exc:  # it became done meanwhile
                raise OrderRefused(str(exc)) from exc
            self._journal("cancel", self._session.client_id, order_id)
            with self._pacer.tagged("cancel", order_id):
                self._client.cancelOrder(order_id, OrderCancel())
            self._count("cancels")
        return record

    def what_if(
        self, contract: Contract | ContractDetails | str, order: Order, timeout: float
    ) -> Any:
        """Ask TWS what the order would do (margin, commission) without placing it: placeOrder
        with ``whatIf`` set, answered by one openOrder the router hands back here, not to the
        book. Validated like a real order first; its id is used up (ids only increase)."""
        self._require_ready()
        details = self._contracts.resolve(contract)
        checked = self._checked(details, order, risk=False)
        checked.whatIf = True
        checked.transmit = True
        if not self.ids.wait_ready(timeout):
            self._require_ready()
            raise OrderRefused("no order id available from TWS; nothing was sent")
        with self.send_lock:
            self._require_ready()
            try:
                order_id = self.ids.next()
            except (IdsExhausted, NotReadyError) as exc:
                raise OrderRefused(f"{exc}; nothing was sent") from exc
            what = f"what-if of {checked.action} {checked.totalQuantity} {checked.orderType}"
            pending = self._requests.open(order_id, what)
            with self._pacer.tagged("place", order_id):
                self._client.placeOrder(order_id, details.contract, checked)
        return pending.wait(timeout + self._pacer.backlog())[0]

    def cancel_all(self) -> None:
        """reqGlobalCancel: TWS cancels every open order of the account, whoever placed it."""
        with self.send_lock:
            self._require_ready()
            self._client.reqGlobalCancel(OrderCancel())

    def _journal(self, kind: str, *args: Any) -> None:
        if self.journal is not None:
            self.journal.record(kind, *args)

    def _count(self, kind: str, n: int = 1) -> None:
        if self._efficiency is not None:
            self._efficiency.count(kind, n)

    # ------------------------------------------------------------------ checks

    def close(self, why: str) -> None:
        """Refuse every order request from now on. Taken under the send lock: once this
        returns, a send in progress has finished and none can start. Orders still held for a
        reconnect are cancelled here, never sent."""
        with self._book.bus.held(), self.send_lock:
            self._closed = why
            held, self._held = self._held, []
            text = f"cancelled before it was sent: held while TWS was unreachable, then {why}"
            for _, orders in held:
                self._drop_held(orders, text)

    def _require_ready(self) -> None:
        if self._closed:
            raise OrderRefused(f"orders are closed ({self._closed}): nothing was sent")
        if not self._session.ready:
            why = self._session.unreachable
            if why:
                raise OrderRefused(
                    f"TWS is unreachable ({why}): nothing was sent. Try again once it is back "
                    "(an on_connection Resynced event), or set [tws] while_disconnected = "
                    '"queue" to hold new orders until then'
                )
            raise OrderRefused("not connected to TWS: call start() first; nothing was sent")

    def _known(self, order_id: int, what: str) -> OrderRecord:
        record = self._book.get(order_id)
        if record is None:
            raise OrderRefused(
                f"order {order_id} (client {self._session.client_id}) is not in the book: "
                f"nothing to {what}"
            )
        return record

    def _contract_of(self, record: OrderRecord) -> Contract:
        """The contract to re-send: as this app sent it, else resolved from TWS's copy."""
        if record.sent_contract is not None:
            return record.sent_contract
        echo = record.contract
        if echo is None or not echo.conId:
            raise OrderRefused(f"order {record.order_id}: its contract is not known yet")
        details = self._contracts.by_conid(echo.conId)
        contract = copy.copy(details.contract)
        contract.exchange = echo.exchange or contract.exchange
        return contract

    def _validate(
        self,
        details: ContractDetails,
        order: Order,
        rules: PriceRules | None,
        fields_checked: bool = False,
    ) -> None:
        session = self._session
        groups: Collection[str] = session.fa_groups if session.fa_groups is not None else ()
        if session.fa_groups is None and order.faGroup:
            groups = (order.faGroup,)  # groups not known here (tws mode): TWS checks the name
        validate_order(
            order,
            min_tick=details.minTick,
            accounts=session.accounts,
            fa_groups=groups,
            price_increments=rules,
            sec_type=details.contract.secType,
            exchange=details.contract.exchange,
            fields_checked=fields_checked,
        )

    # ------------------------------------------------------------------ sync

    def sync(self, timeout: float | None = None, executions_since: str = "") -> None:
        """Load what TWS already knows: open and completed orders, executions (those from
        ``executions_since`` on, TWS's time format; "" all of today's), positions, account."""
        timeout = timeout or self._session.request_timeout
        requests, client = self._requests, self._client
        waits = []
        waits.append(requests.open("openOrders", "reqOpenOrders"))
        client.reqOpenOrders()
        waits.append(requests.open("completedOrders", "reqCompletedOrders"))
        client.reqCompletedOrders(False)
        exec_id = requests.new_id()
        waits.append(requests.open(exec_id, "reqExecutions"))
        executions = ExecutionFilter()
        executions.time = executions_since
        client.reqExecutions(exec_id, executions)
        waits.append(requests.open("positions", "reqPositions"))
        client.reqPositions()
        summary_id = requests.new_id()
        waits.append(requests.open(summary_id, "reqAccountSummary"))
        client.reqAccountSummary(summary_id, "All", "All")
        try:
            for pending in waits:
                pending.wait(timeout + self._pacer.backlog())
        finally:
            if client.isConnected():
                client.cancelAccountSummary(summary_id)
