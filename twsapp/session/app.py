"""TwsApp: the session with TWS, as one facade whose public names are all twsapp's.

It *has* the ibapi adapter (wire.py: the one EClient + EWrapper class) and composes the parts
around it: the router (every callback and error to its owner), requests and subscriptions, the
order-id allocator, the contract service, the order API (trading.py) and the book. ibapi's own
methods are reachable only through ``ibapi``, which bypasses all of them.
"""

from __future__ import annotations

import contextlib
import logging
import random
import socket
import threading
import time
from collections.abc import Callable, Collection, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from ibapi.client import EClient
from ibapi.contract import Contract, ContractDetails
from ibapi.order import Order

from ..book import OrderBook, OrderRecord, Position
from ..book.selection import select
from ..book.status import Status
from ..config import LIVE_PORTS, RiskConfig, is_loopback_host
from ..events import (
    Connected,
    Disconnected,
    EventBus,
    Reconnecting,
    Resynced,
    TwsLinkLost,
    TwsLinkRestored,
)
from ..exceptions import ClientIdInUse, ConnectError, OrderRefused, TwsAppError
from ..journal import Journal
from ..risk import RiskGuard
from ..whatif import WhatIf
from .accounts import FaGroup, load_groups, orders_for, positions_for
from .contracts import ContractService
from .ids import OrderIdAllocator
from .inbox import Inbox
from .pacing import DEFAULT_RATE, Efficiency, Pacer
from .reconnect import Backoff
from .requests import RequestTracker
from .resync import (
    OpenIntents,
    corrections,
    executions_since,
    open_intents,
    overdue,
    snapshot,
)
from .risk_facts import PriceSource, SessionFacts, modified_order
from .router import Link, Router
from .subscriptions import SubscriptionRegistry
from .trading import OrderApi
from .wire import Wire

log = logging.getLogger("twsapp.session")

CONNECT_HINT = (
    "check that TWS or IB Gateway is running, that 'Enable ActiveX and Socket Clients' is on "
    "(Global Configuration > API > Settings), that the socket port matches, and that "
    "127.0.0.1 is a trusted IP"
)

# Why a request TWS never received was lost, by the resync's reason (TwsApp._resolve).
_LOST = {
    "start": "the run that placed it ended first (journal replay)",
    "reconnect": "the connection was lost first",
    "error 100": "TWS dropped it (error 100: more than 50 messages a second)",
}
_MAX_SETTLE_STEPS = 64  # a cancel, the place, and the modifies of one unsent order
PACING_QUIET = 1.0  # seconds without error 100 before the resync that finds what TWS dropped

LIVE_HOW_TO = "set live = true in [tws] of the config (TwsApp.start(..., live=True))"


def is_paper_account(account: str) -> bool:
    """IB's paper (demo) account ids start with "D": DU (individual), DF (advisor), DI (broker).

    Live ones start with U, F, I ... The account TWS reports is the ground truth of what is
    traded, whatever the port: a live login can listen on the "paper" port too.
    """
    return account.startswith("D")


class _SessionLink(Link):
    """The connection's own state: what start() waits for, and what the router reports."""

    def __init__(self, app: TwsApp) -> None:
        self.app = app
        self.reset()

    def reset(self) -> None:
        """A new connection attempt: nothing of it seen yet."""
        self.ready = threading.Event()
        self.accounts_seen = threading.Event()
        self.id_seen = threading.Event()
        self.connect_error: ConnectError | None = None
        self.resync_pending = False

    def on_next_valid_id(self, order_id: int) -> None:
        ids = self.app.ids
        if self.resync_pending:
            self.resync_pending = False
            ids.resync(order_id)
            log.info("order ids resynchronized: next id %d", order_id)
        else:
            ids.seed(order_id)
        self.id_seen.set()
        self._check_ready()

    def on_accounts(self, accounts: list[str]) -> None:
        self.app.accounts = list(accounts)
        self.accounts_seen.set()
        self._check_ready()

    def _check_ready(self) -> None:
        if self.id_seen.is_set() and self.accounts_seen.is_set():
            self.ready.set()

    def on_closed(self) -> bool:
        app = self.app
        where = f"{app.host}:{app.port}"
        if app._attempting:  # closed while connecting: wake it; the attempt raises the reason
            self.connect_error = self.connect_error or ConnectError(
                f"{where} closed the connection before the session was ready. TWS does this "
                f"when client id {app.client_id} is already in use (try another), or when it "
                f"refuses API clients: {CONNECT_HINT}"
            )
            self.ready.set()
            log.debug("connection to %s closed while connecting", where)
            return app.backoff is not None and app._started
        reconnecting = app.backoff is not None and not app._stopping
        if app._stopping:
            log.info("disconnected from %s", where)
        elif reconnecting:
            log.warning("connection to %s closed: reconnecting ([tws] reconnect)", where)
        else:
            log.warning("connection to %s closed", where)
        text = "closed by this app" if app._stopping else "closed by TWS or the network"
        app.bus.publish(Disconnected(time=app._now(), text=text, requested=app._stopping,
                                     reconnecting=reconnecting))  # fmt: skip
        if reconnecting:
            app._schedule_reconnect()
        return reconnecting

    def on_client_id_in_use(self) -> None:
        app = self.app
        self.connect_error = ClientIdInUse(
            f"client id {app.client_id} is already in use at {app.host}:{app.port} (TWS error "
            f"326): another application or session is connected with it. Connect with another "
            f"client id (e.g. {app.client_id + 1}: tws.client_id in the config), or close the "
            "other one"
        )
        self.ready.set()

    def on_pacing_violation(self) -> None:
        self.app._resync_after_pacing()

    def on_duplicate_id(self, order_id: int) -> None:
        """Error 103: TWS has seen this id. Stop handing out ids until reqIds answers."""
        ids = self.app.ids
        ids.observe(order_id)
        ids.invalidate(f"order id {order_id} was a duplicate (103): waiting for reqIds")
        self.resync_pending = True
        log.warning("TWS says order id %d was already used: requesting new ids", order_id)
        wire = self.app._wire
        if wire.isConnected():
            wire.reqIds(-1)

    def quiet(self) -> bool:
        return self.app._attempting


class TwsApp:
    """A connection to TWS / IB Gateway, feeding one OrderBook.

    One connection per object: ``start()`` can succeed once; to connect again (after ``stop()``
    or a lost connection) create a new TwsApp (its threads, queues and ready state are
    single-use). ``default_account`` (tws.account) goes into orders that name no account nor FA
    group; it must be a managed account (or a known FA group), checked at connect.
    ``fa_groups``: the FA group names orders may use. None (the default): learned from TWS at
    connect when the login manages several accounts (requestFA; ``fa_group_info`` then holds
    each group's accounts and method); while unknown (TWS says the login is no advisor's, or
    does not answer) any faGroup passes and TWS decides. ``max_messages_per_second``: every
    message to TWS is queued and sent at most that fast (session/pacing.py; TWS refuses more
    than 50 with error 100); None sends at once, unpaced. ``journal``: every order intent and
    order callback is recorded there before it is acted on; ``replay_journal`` rebuilds the
    book from it before connecting. ``reconnect``: after a lost connection, connect again
    with these waits, resync, renew the market data, and go on (None: a lost connection is
    final). ``while_disconnected``: an order asked for while TWS is unreachable is refused
    ("refuse") or held and sent after the resync ("queue").
    """

    def __init__(
        self,
        book: OrderBook | None = None,
        request_timeout: float = 10.0,
        *,
        default_account: str = "",
        fa_groups: Collection[str] | None = None,
        risk: RiskConfig | None = None,
        prices: PriceSource | None = None,
        max_messages_per_second: float | None = DEFAULT_RATE,
        journal: Journal | None = None,
        reconnect: Backoff | None = None,
        while_disconnected: str = "refuse",
    ) -> None:
        if while_disconnected not in ("refuse", "queue"):
            raise ValueError(f"while_disconnected={while_disconnected!r}: use refuse or queue")
        self.book = book or OrderBook()
        self.bus: EventBus = self.book.bus
        self._ids = OrderIdAllocator()
        self.request_timeout = request_timeout
        self.default_account = default_account
        self.fa_groups: frozenset[str] | None = None if fa_groups is None else frozenset(fa_groups)
        self.fa_group_info: dict[str, FaGroup] = {}  # learned from TWS (requestFA) at connect
        self.accounts: list[str] = []
        self.host = "127.0.0.1"
        self.port = 0
        self.client_id = 0
        self._now: Callable[[], datetime] = lambda: datetime.now(UTC)
        self._requests = RequestTracker()
        self._link = _SessionLink(self)
        self.journal = journal
        self._router = Router(
            self.book, self.bus, self._ids, self._requests, self._link, journal=journal
        )
        self._wire = Wire(self._router)
        self.pacer = self._wire.pacer = Pacer(max_messages_per_second)
        # submits, modifies and cancels sent, fills received: per day, for the summary
        self.efficiency = Efficiency(lambda: self._now().date())
        self.book.on_new_fill = lambda: self.efficiency.count("fills")  # no event needed
        self.contracts = ContractService(self._requests, self._wire, request_timeout)
        self._orders = OrderApi(
            self, self._wire, self.book, self._ids, self.contracts, self._requests,
            self.pacer, self.efficiency, journal,
        )  # fmt: skip
        # [risk] in force (None: no pre-trade checks); ``prices``: the run's last prices.
        self.risk: RiskGuard | None = None
        if risk is not None:
            self.risk = RiskGuard(risk, SessionFacts(self, prices))
            self._orders.risk_check = self.risk.check
        self._api_thread: threading.Thread | None = None
        self._handshake: threading.Thread | None = None
        self._reader_thread: threading.Thread | None = None
        self._orders.while_disconnected = while_disconnected
        self._requests.gate = self._request_gate
        self._used = False  # start() got past its checks: this object cannot connect again
        self._started = False  # start() succeeded
        self._stopping = False
        # Reconnecting ([tws] reconnect): the waits, and what the session is doing meanwhile.
        self.backoff = reconnect
        self.reconnects = 0  # connections made again after a loss
        self.resyncs = 0
        self._live = False
        self._connect_timeout = 10.0
        self._attempting = False  # a connect attempt is under way (start or reconnect)
        self._reconnecting = False
        self._resyncing = False
        self._link_lost = False  # TWS lost its own link to IB (1100) and has not said 1101/1102
        self._halt = threading.Event()  # set by stop(): wakes a reconnect's wait
        self._state_lock = threading.Lock()
        self._resync_lock = threading.Lock()
        self._reconnect_thread: threading.Thread | None = None
        self.market_data_type = 1  # reqMarketDataType in force (MarketData.set_data_type)
        self._pacing_resync = False  # a resync after error 100 is waiting for quiet
        self._last_pacing = 0.0
        self._pacing_seen = 0  # error 100s since the last resync
        self._rng = random.Random()
        self.bus.subscribe(self._on_link, TwsLinkLost, TwsLinkRestored)

    @property
    def ids(self) -> OrderIdAllocator:
        """The order-id allocator (seeded by nextValidId, bumped past every id seen)."""
        return self._ids

    @ids.setter
    def ids(self, allocator: OrderIdAllocator) -> None:
        """Replace the allocator (e.g. with ids restored from elsewhere), for every part."""
        self._ids = self._router.ids = self._orders.ids = allocator

    # ------------------------------------------------------------------ escape hatch

    @property
    def ibapi(self) -> EClient:
        """ibapi's own EClient, for what twsapp does not wrap. It bypasses everything twsapp
        guarantees: an order sent through it is not validated, gets no id from the allocator,
        is not in the book until TWS reports it, and races the send lock (TWS answers 103 to an
        id below one already sent). Prefer ``place`` / ``modify`` / ``cancel``."""
        return self._wire

    @property
    def server_version(self) -> int | None:
        """The protocol version negotiated with TWS (None before connecting)."""
        return self._wire.serverVersion()

    @property
    def connected(self) -> bool:
        """The socket to TWS is open (see ``ready`` for "the session can trade")."""
        return self._wire.isConnected()

    @property
    def subscriptions(self) -> SubscriptionRegistry:
        """Streaming subscriptions by reqId (market data and the like)."""
        return self._router.subscriptions

    def subscribe(self, callback: Callable[[Any], Any], *kinds: type) -> Callable[[], None]:
        """Deliver events of `kinds` (all when none: book, connection, notices) to `callback`,
        in order; returns an unsubscribe function. A callback runs on whichever thread
        delivers (usually tws-reader or tws-api, which take turns reading from TWS): it must
        not block, nor call the order API."""
        return self.bus.subscribe(callback, *kinds)

    # ------------------------------------------------------------------ orders

    def place(self, contract: Contract | ContractDetails | str, order: Order) -> OrderRecord:
        """Validate, register and send a new order; returns its (live) record.

        An order naming no account (nor FA group) gets the app's default account
        (``default_account``, tws.account), else the only managed account.
        """
        return self._orders.place(contract, order)

    def place_bracket(
        self, contract: Contract | ContractDetails | str, orders: Sequence[Order]
    ) -> list[OrderRecord]:
        """Place a parent and its children (``bracket(...)`` builds them) as one: every order is
        validated before any byte is sent (one refused: none sent), the ids are allocated
        together, the children get ``parentId``, and only the last is transmitted, so TWS
        works none of them before it holds all. Returns the records, in the order given."""
        return self._orders.place_bracket(contract, orders)

    def modify(self, order_id: int, **changes: Any) -> OrderRecord:
        """Re-send a working order with the same id and new terms: ``price``, ``quantity``,
        ``aux_price``, ``tif``, or a field of its type (``stop_price``, ``trailing_percent``,
        ... order_types.py)."""
        if self.risk is not None:
            checked = modified_order(self, order_id, changes)  # None: modify says why not
            if checked is not None:
                self.risk.check(*checked)  # before any lock: it may ask TWS for a quote
        return self._orders.modify(order_id, **changes)

    def check_order(self, contract: Contract | ContractDetails | str, order: Order) -> Order:
        """The order as ``place`` would send it (default account filled in), validated and
        held to [risk] (OrderRefused, RiskRefused); nothing is sent."""
        return self._orders._checked(self.contracts.resolve(contract), order)

    def cancel(self, order_id: int) -> OrderRecord:
        """Ask TWS to cancel a working (or held) order; the book shows PendingCancel meanwhile."""
        return self._orders.cancel(order_id)

    def what_if(
        self, contract: Contract | ContractDetails | str, order: Order, timeout: float | None = None
    ) -> WhatIf:
        """The margin and commission impact of ``order`` as TWS previews it; nothing is placed
        (the book never sees it). Refused before any byte like ``place``; RequestError if TWS
        refuses the preview."""
        state = self._orders.what_if(contract, order, timeout or self.request_timeout)
        return WhatIf.from_state(state)

    def cancel_all(self) -> None:
        """reqGlobalCancel: TWS cancels every open order of the account, whoever placed it."""
        self._orders.cancel_all()

    def orders_where(
        self,
        *,
        symbol: str | None = None,
        order_type: str | None = None,
        side: str | None = None,
        strategy: str | None = None,
    ) -> list[OrderRecord]:
        """The working orders of the book matching every filter given: what ``cancel_where``
        with the same filters cancels."""
        return select(self.book.records(), symbol=symbol, order_type=order_type, side=side,
                      strategy=strategy)  # fmt: skip

    def cancel_where(
        self,
        *,
        symbol: str | None = None,
        order_type: str | None = None,
        side: str | None = None,
        strategy: str | None = None,
    ) -> list[OrderRecord]:
        """Cancel every working order matching all the filters given (``strategy``: the name
        its orderRef carries); logs the list before it sends anything, returns it. No filter
        at all is refused: ``cancel_all`` says so on purpose."""
        if symbol is None and order_type is None and side is None and strategy is None:
            raise OrderRefused("cancel_where needs a filter (symbol, order_type, side or "
                               "strategy); cancel_all() cancels everything")  # fmt: skip
        chosen = self.orders_where(symbol=symbol, order_type=order_type, side=side,
                                   strategy=strategy)  # fmt: skip
        log.info("cancel_where(%s): %s", _filters(symbol=symbol, order_type=order_type,
                 side=side, strategy=strategy),
                 ", ".join(_described(r) for r in chosen) or "nothing matches")  # fmt: skip
        for record in chosen:
            try:
                self.cancel(record.order_id)
            except OrderRefused as exc:  # it filled or was cancelled meanwhile
                log.info("cancel_where: order %d not cancelled: %s", record.order_id, exc)
        return chosen

    def replay_journal(self, client_id: int) -> int:
        """Rebuild the book from the journal (before ``start``): what the last run sent and
        heard. Order ids are then allotted past every id it holds, whatever TWS's nextValidId
        says. Returns how many entries were applied."""
        if self.journal is None:
            return 0
        self.book.client_id = client_id
        count = self.journal.replay(self.book)
        for record in self.book.records():
            if record.client_id == client_id and record.order_id:
                self._ids.observe(record.order_id)
        log.info("journal %s: %d entries replayed, %d orders", self.journal.path, count,
                 len(self.book.records()))  # fmt: skip
        return count

    def resync(self, reason: str, timeout: float | None = None, renew: bool = False) -> int:
        """Bring the book in line with TWS before anything new is sent: at start, after a
        reconnect, a freeze or a restored link. Asks for open and completed orders,
        executions since a little before the newest one known, positions and account; each
        order this changed is logged at WARNING; a placeOrder, modify or cancel TWS never
        received is settled (resync.py): an order is rejected, never sent again; a modify
        rejected; a cancel sent again. ``renew``: ask again for every market data
        subscription (TWS lost them). Orders held meanwhile ([tws] while_disconnected =
        "queue") are sent last. Returns how many orders were corrected; raises what the sync
        raises (RequestTimeout ...)."""
        with self._resync_lock:
            self._resyncing = True
            try:
                records = self.book.records()
                before = snapshot(records)
                intents = open_intents(records, self.client_id, self._orders.held_keys())
                self._router.reported = (set(), set())
                try:
                    self._orders.sync(timeout, executions_since(records))
                    self._name_unreported(self._router.reported, reason)
                finally:
                    self._router.reported = None
                recancel = self._resolve(intents, reason)
                self._pacing_seen = 0
                lines = corrections(before, self.book.records())
                for line in lines:
                    log.warning("resync (%s) corrected %s", reason, line)
                if renew:
                    if self.market_data_type != 1:  # a new session starts with live data
                        self._wire.reqMarketDataType(self.market_data_type)
                    renewed = self.subscriptions.renew_all()
                    if renewed:
                        log.info("resync (%s): %d market data subscription(s) asked for again",
                                 reason, renewed)  # fmt: skip
                self.resyncs += 1
                self._orders.release_held()  # first: others still see "resyncing"
            finally:
                self._resyncing = False
            self._orders.release_held()  # any held while the first batch went out
        for order_id in recancel:
            try:
                self._orders.cancel(order_id)
            except OrderRefused as exc:
                log.warning("order %d: its cancel could not be sent again: %s", order_id, exc)
        log.info("resynced (%s): %d order(s) corrected, %d request(s) TWS never received",
                 reason, len(lines), len(intents))  # fmt: skip
        self.bus.publish(Resynced(time=self._now(), reason=reason, corrections=len(lines),
                                  resolved=len(intents)))  # fmt: skip
        return len(lines)

    def _resolve(self, intents: OpenIntents, reason: str) -> list[int]:
        """Settle the requests TWS never received (see ``resync``); returns the orders whose
        cancel is to be sent again."""
        if self._pacing_seen:  # TWS said 100 since the last resync: that is where they went
            reason = "error 100"
        lost = _LOST.get(reason, "TWS never answered it, and it answers in order")
        for _, order_id in intents.places:
            self._settle_unsent(order_id, lost)
        for (_, order_id), count in intents.modifies.items():
            record = self.book.get(order_id, self.client_id)
            while record is not None and count > 0 and record.pending_modifications:
                seq = record.pending_modifications[0].seq
                self._settle(order_id, f"modify #{seq} never reached TWS ({lost}): the order "
                             "works on with its terms before it; modify it again if still "
                             "wanted")  # fmt: skip
                count -= 1
        recancel = []
        for _, order_id in intents.cancels:
            record = self.book.get(order_id, self.client_id)
            if record is None or record.done or record.status != Status.PENDING_CANCEL:
                continue
            if reason == "start":  # the run that wanted it cancelled is gone: not acted on
                self._settle(order_id, f"cancel never reached TWS ({lost}): the order is "
                             "still working; cancel it again if still wanted")  # fmt: skip
                continue
            self._settle(order_id, f"cancel never reached TWS ({lost}): sending it again")
            recancel.append(order_id)
        return recancel

    def _name_unreported(self, reported: tuple[set[int], set[int]], reason: str) -> None:
        """A working order TWS acknowledged but reports no more (a TWS restart that lost it, an
        order cancelled in TWS's own window while away): its true state is unknown, so it is
        named at WARNING rather than guessed."""
        ids, perms = reported
        for record in self.book.records():
            if record.client_id != self.client_id or not record.acknowledged or record.done:
                continue
            if record.order_id in ids or (record.perm_id and record.perm_id in perms):
                continue
            log.warning("resync (%s): TWS no longer reports order %d (%s in the book): its "
                        "state is unknown; look it up in TWS", reason, record.order_id,
                        record.status)  # fmt: skip

    def _settle_unsent(self, order_id: int, lost: str) -> None:
        """An order TWS never received, with whatever was asked of it since (a cancel, modifies):
        one 504 for each, in the order the error policy takes them, until nothing is pending."""
        for _ in range(_MAX_SETTLE_STEPS):
            record = self.book.get(order_id, self.client_id)
            if record is None or record.acknowledged:
                return
            if record.status == Status.PENDING_CANCEL:
                text = f"cancel of an order that never reached TWS ({lost}): nothing to cancel"
            elif not record.rejected:
                text = f"never reached TWS: {lost}; not sent again"
            elif record.pending_modifications:
                seq = record.pending_modifications[0].seq
                text = f"modify #{seq} of an order that never reached TWS ({lost})"
            else:
                return
            self._settle(order_id, text)

    def _settle(self, order_id: int, text: str) -> None:
        """504 (nothing was sent) for one of this app's requests, journaled like TWS's own."""
        if self.journal is not None:
            self.journal.record("error", order_id, 504, text, "", 0)
        self.book.on_error(order_id, 504, text, "", 0, client_id=self.client_id)
        log.warning("order %d: %s", order_id, text)

    def close_orders(self, why: str = "the app is stopping") -> None:
        """Refuse every place / modify / cancel from now on; once this returns, an order
        message in progress is on the socket and no other can follow (a run shutting down)."""
        self._orders.close(why)

    def sync(self, timeout: float | None = None) -> None:
        """Load what TWS already knows: open and completed orders, executions, positions, account."""
        self._orders.sync(timeout)

    # ------------------------------------------------------------------ connection

    def start(
        self, host: str, port: int, client_id: int, timeout: float = 10.0, live: bool = False
    ) -> TwsApp:
        """Connect, start the reader and api threads, and wait until TWS says we are ready.

        Ready means both nextValidId and managedAccounts arrived. Refused before any socket is
        opened: a host that is not this machine (loopback), and the live ports 7496 / 4001
        unless ``live``. Refused after connecting (then disconnected, nothing sent but the
        handshake): a live (non-"D") managed account unless ``live``, and a ``default_account``
        TWS does not manage. Raises ConnectError (also: refused, no handshake, not ready in
        time) or ClientIdInUse, within `timeout` seconds, with no thread of this app left
        running. A second call raises RuntimeError: create a new TwsApp to connect again.
        """
        if self._used:
            raise RuntimeError(
                "this TwsApp has been started before; it connects once (its threads, queues and "
                "ready state are single-use): create a new TwsApp to connect again"
            )
        self._check_target(host, port, live)
        self._used = True
        self.host, self.port, self.client_id = host, port, client_id
        self._live, self._connect_timeout = live, timeout
        try:
            self._open(timeout)
        except BaseException:
            self.stop()
            raise
        self._started = True
        log.info("connected to %s:%d as client %d, accounts %s", host, port, client_id,
                 self.accounts)  # fmt: skip
        self.bus.publish(Connected(time=self._now(), host=host, port=port, client_id=client_id))
        return self

    def _open(self, timeout: float) -> None:
        """One connection attempt (start, or a reconnect): the handshake, the api thread, and
        the wait for nextValidId and managedAccounts. On failure it raises ConnectError or
        ClientIdInUse with this attempt's socket closed and its api thread ended."""
        self._link.reset()
        self.book.client_id = self.client_id
        wire = self._wire
        wire.msg_queue = Inbox()  # the last connection's was closed with it
        where = f"{self.host}:{self.port}"
        deadline = time.monotonic() + timeout
        self._attempting = True
        try:
            handshake = self._handshake = threading.Thread(
                target=wire.connect, args=(self.host, self.port, self.client_id),
                name="tws-handshake", daemon=True,
            )  # fmt: skip
            handshake.start()
            handshake.join(timeout)
            if handshake.is_alive():
                self._close_socket()
                handshake.join(5)
                raise ConnectError(
                    f"{where} accepted the connection but did not answer the API handshake "
                    f"within {timeout:g}s (is it TWS / IB Gateway, and is the API ready?): "
                    f"{CONNECT_HINT}"
                )
            if wire.connState != EClient.CONNECTED:  # ibapi reset itself: no socket
                raise ConnectError(f"could not connect to TWS at {where} (refused): {CONNECT_HINT}")
            self._reader_thread = wire.reader
            # Even when TWS has closed the socket already (326 is sent, then the socket closed),
            # its last messages are queued: the api thread handles them, then reports the close.
            self._api_thread = threading.Thread(target=wire.run, name="tws-api", daemon=True)
            self._api_thread.start()
            ready = self._link.ready.wait(max(0.0, deadline - time.monotonic()))
            failure = self._link.connect_error
            if failure is None and ready:
                failure = self._check_session(self._live, deadline)
            if failure is None and ready:
                return
            self._close_attempt()
            if failure is not None:
                raise failure
            missing = [
                name
                for name, seen in (
                    ("nextValidId", self._link.id_seen),
                    ("managedAccounts", self._link.accounts_seen),
                )
                if not seen.is_set()
            ]
            raise ConnectError(
                f"{where} accepted the connection but sent no {' / '.join(missing)} within "
                f"{timeout:g}s: {CONNECT_HINT}"
            )
        finally:
            self._attempting = False

    def _close_attempt(self) -> None:
        """Close a failed attempt's socket and wait for its api thread to report the close."""
        wire = self._wire
        self._close_socket()
        wire.msg_queue.close()
        api = self._api_thread
        if api is not None and api.is_alive() and not self._on_callback_thread():
            api.join(timeout=5)
        if wire.conn is not None:
            wire.disconnect()

    # ------------------------------------------------------------------ reconnecting

    def _schedule_reconnect(self) -> None:
        """On the api thread, as its loop reports the close: reconnect on a thread of its own."""
        with self._state_lock:
            if self._reconnecting or self._stopping:
                return
            self._reconnecting = True
            lost_api = self._api_thread
            dropped = self.pacer.discard()  # written to the dead socket, they would go nowhere
            thread = self._reconnect_thread = threading.Thread(
                target=self._reconnect, args=(lost_api,), name="tws-reconnect", daemon=True
            )
        if dropped:
            log.info("%d message(s) queued for the lost connection dropped: the resync settles "
                     "their orders", dropped)  # fmt: skip
        thread.start()

    def _reconnect(self, lost_api: threading.Thread | None) -> None:
        """Wait, try, wait longer ... (reconnect.py) until connected or stopped; then resync."""
        backoff = self.backoff
        assert backoff is not None
        if lost_api is not None and lost_api is not threading.current_thread():
            lost_api.join(10)  # its disconnect has reset the client: now it may connect again
        self.pacer.discard()  # anything queued while the api thread wound down
        where = f"{self.host}:{self.port}"
        attempt = 0
        connected = False
        try:
            while not self._stopping:
                attempt += 1
                if backoff.gives_up(attempt):
                    log.error("could not reconnect to %s in %d attempts: giving up", where,
                              attempt - 1)  # fmt: skip
                    return
                delay = backoff.delay(attempt, self._rng)
                log.info("reconnecting to %s in %.1fs (attempt %d)", where, delay, attempt)
                self.bus.publish(Reconnecting(time=self._now(), attempt=attempt, delay=delay))
                if self._halt.wait(delay):
                    return
                try:
                    self._open(self._connect_timeout)
                except ClientIdInUse as exc:
                    if backoff.next_client_id:
                        self.client_id += 1
                        log.warning("client id %d is in use: trying client id %d "
                                    "([tws] next_client_id)", self.client_id - 1,
                                    self.client_id)  # fmt: skip
                    else:
                        log.info(
                            "reconnect attempt %d failed: %s", attempt, exc
                        )  # the loss was a WARNING
                    continue
                except ConnectError as exc:
                    log.info(
                        "reconnect attempt %d failed: %s", attempt, exc
                    )  # the loss was a WARNING
                    continue
                connected = True
                self._link_lost = False  # a new session: TWS says 1100 again if still cut off
                break
        finally:
            with self._state_lock:
                self._reconnecting = False
                if connected:
                    self._resyncing = True  # no order slips in before the resync begins
        if not connected:
            return
        if self._stopping:
            self._resyncing = False
            return
        self.reconnects += 1
        log.warning("reconnected to %s as client %d (attempt %d): resyncing", where,
                    self.client_id, attempt)  # fmt: skip
        self.bus.publish(Connected(time=self._now(), host=self.host, port=self.port,
                                   client_id=self.client_id, text="reconnected"))  # fmt: skip
        self._resync_or_drop("reconnect", renew=True)

    def _resync_or_drop(self, reason: str, renew: bool = False) -> None:
        """A resync that fails (TWS does not answer) ends the connection: the next one
        resyncs again, rather than trading on a book not known to match TWS."""
        try:
            self.resync(reason, renew=renew)
        except TwsAppError as exc:
            if self._stopping:
                return
            log.warning("resync (%s) failed: %s", reason, exc)
            if self.backoff is not None and self.connected:
                self.drop_connection(f"resync ({reason}) failed")

    def drop_connection(self, why: str) -> None:
        """Close the socket as if TWS had (a half-open connection, a resync that failed): the
        loss is then handled like any other, with a reconnect when configured."""
        log.warning("closing the connection to %s:%d: %s", self.host, self.port, why)
        self._shutdown_socket()

    def _on_link(self, event: TwsLinkLost | TwsLinkRestored) -> None:
        """TWS's own link to IB (1100, 1101 / 1102): orders wait while it is down; once it is
        back, a resync (on a thread of its own: this runs on a callback thread), with the market
        data asked for again on 1101 (TWS lost it)."""
        if isinstance(event, TwsLinkLost):
            self._link_lost = True
            return
        self._link_lost = False
        if not self._started or self._stopping:
            return
        reason = f"TWS {event.code}"
        threading.Thread(target=self._resync_or_drop, args=(reason, event.data_lost),
                         name="tws-resync", daemon=True).start()  # fmt: skip

    def overdue(self, seconds: float) -> list[OrderRecord]:
        """This app's orders with a request TWS has not answered for ``seconds`` (a placeOrder,
        modify or cancel): lost, since TWS answers in order; a resync settles them."""
        since = self._now() - timedelta(seconds=seconds)
        held = self._orders.held_keys()
        return overdue(self.book.records(), self.client_id, since, held)

    def _resync_after_pacing(self) -> None:
        """Error 100 (on a callback thread): TWS dropped messages. Once it has been quiet for a
        moment, a resync finds the orders it dropped (none stays pending)."""
        with self._state_lock:
            self._last_pacing = time.monotonic()
            self._pacing_seen += 1
            if self._pacing_resync or not self._started or self._stopping:
                return
            self._pacing_resync = True

        def later() -> None:
            try:
                while not self._halt.wait(PACING_QUIET):
                    with self._state_lock:
                        quiet = time.monotonic() - self._last_pacing >= PACING_QUIET
                    if quiet and not self.pacer.backlog():
                        break
                if not self._halt.is_set():
                    self._resync_or_drop("error 100")
            finally:
                with self._state_lock:
                    self._pacing_resync = False

        threading.Thread(target=later, name="tws-resync", daemon=True).start()

    def _request_gate(self) -> str:
        """Why a request cannot be sent now: the socket is down (a reconnect may be under way)."""
        if self._wire.isConnected():
            return ""
        return "not connected to TWS" + (
            " (reconnecting)" if self._started and self.will_reconnect else ""
        )

    @property
    def will_reconnect(self) -> bool:
        """A lost connection is followed by a reconnect ([tws] reconnect, and not stopping)."""
        return self.backoff is not None and not self._stopping

    @property
    def unreachable(self) -> str:
        """Why TWS cannot take orders for now though the session goes on ("" when it can, or
        when the session is not started, stopping, or lost without reconnecting)."""
        if not self._started or self._stopping:
            return ""
        if self._reconnecting or (self.backoff is not None and not self._wire.isConnected()):
            return "reconnecting"
        if self._resyncing:
            return "resyncing with TWS"
        if self._link_lost:
            return "TWS has lost its connection to IB (1100)"
        return ""

    @staticmethod
    def _check_target(host: str, port: int, live: bool) -> None:
        """The checks that need no connection: nothing is opened when one fails."""
        where = f"{host}:{port}"
        if not is_loopback_host(host):
            raise ConnectError(
                f"refusing to connect to {where}: {host!r} is not a loopback address, and twsapp "
                "only talks to TWS / IB Gateway on this machine (127.0.0.1, ::1, localhost). Run "
                "twsapp where TWS runs, or forward TWS's port to 127.0.0.1 (e.g. an SSH tunnel); "
                "nothing was opened"
            )
        if port in LIVE_PORTS and not live:
            kind = "TWS" if port == 7496 else "IB Gateway"
            raise ConnectError(
                f"refusing to connect to {where}: {port} is the live {kind} port and live trading "
                f"is not allowed. Use the paper port (7497 TWS, 4002 IB Gateway), or, to trade "
                f"live on purpose, {LIVE_HOW_TO}; nothing was opened"
            )

    def _check_session(self, live: bool, deadline: float) -> ConnectError | None:
        """What managedAccounts tells: a live account, or a default account TWS does not know
        (an advisor's groups are learned first, when not given: it may name one)."""
        where = f"{self.host}:{self.port}"
        real = [a for a in self.accounts if not is_paper_account(a)]
        if real and not live:
            return ConnectError(
                f"{where} is logged in to the live account {', '.join(real)} (paper accounts "
                "start with 'D', e.g. DU1234567) and live trading is not allowed: disconnected, "
                "nothing was sent. Log in to TWS / IB Gateway with the paper trading user, or, to "
                f"trade live on purpose, {LIVE_HOW_TO}"
            )
        if self.fa_groups is None and self.advisor_login:
            self._learn_fa_groups(deadline)
        default = self.default_account
        groups = self.fa_groups or frozenset()
        if default and default not in self.accounts and default not in groups:
            known = ", ".join(self.accounts) or "none"
            if groups:
                known += "; FA groups: " + ", ".join(sorted(groups))
            return ConnectError(
                f"the default account {default!r} (tws.account) is not one of the accounts "
                f"{where} manages ({known}): disconnected, nothing was sent. Set tws.account to "
                "one of those, or leave it empty"
            )
        return None

    def _learn_fa_groups(self, deadline: float) -> None:
        """requestFA: the groups an advisor login has (session/accounts.py); unknown if TWS
        says it is no advisor's login or does not answer."""
        wait = max(1.0, min(self.request_timeout, deadline - time.monotonic()))
        groups = load_groups(self._requests, self._wire.requestFA, wait)
        if groups is not None:
            self.fa_groups = frozenset(groups)
            self.fa_group_info = dict(groups)
            log.info("FA groups: %s", ", ".join(
                f"{g.name} ({g.method or '?'}: {', '.join(g.accounts)})" for g in groups.values()
            ) or "none")  # fmt: skip

    @property
    def advisor_login(self) -> bool:
        """The login manages several accounts (an advisor's, or linked ones)."""
        return len(self.accounts) > 1

    def orders_for(self, name: str) -> list[OrderRecord]:
        """The book's orders placed for one account, allocated to one group, or "All"."""
        return orders_for(self.book.records(), name)

    def positions_for(self, account: str) -> list[Position]:
        """One account's positions (reqPositions, kept by the book); a group has none of its
        own (BookError naming the accounts)."""
        groups = self.fa_groups or frozenset()
        return positions_for(self.book.positions(), account, self.accounts, groups)

    def _close_socket(self) -> None:
        """Close the socket now: the reader wakes and ends; isConnected() is False from here."""
        conn = self._wire.conn
        if conn is not None:
            self._shutdown_socket()
            conn.disconnect()

    def _shutdown_socket(self) -> None:
        """Wake a thread blocked in recv at once (closing alone leaves it to its 1 s timeout)."""
        sock = getattr(self._wire.conn, "socket", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        """Disconnect and wait for the threads; orders already sent stay at TWS.

        Messages already queued for TWS (the pacer) are sent first, within their backlog's
        time and 5 s more; messages not yet handled are dropped. The api thread ends its loop and disconnects
        (connectionClosed, ibapi's reset) itself, so nothing resets the client under it.
        """
        wire = self._wire
        if wire.isConnected() and not self._on_callback_thread():
            # what place() / modify() / cancel() took is sent before the socket closes
            self.pacer.drain(self.pacer.backlog() + 5.0)
        self._stopping = True
        self._halt.set()
        reconnect = self._reconnect_thread
        if reconnect is not None and reconnect is not threading.current_thread():
            self._close_socket()
            reconnect.join(timeout=self._connect_timeout + 5)  # an attempt under way ends
        self._close_socket()
        wire.msg_queue.close()
        self.pacer.close()
        api = self._api_thread
        if api is not None and api.is_alive():
            if self._on_callback_thread():
                return  # called from a callback: run() disconnects when it returns
            api.join(timeout=5)
        if wire.conn is not None:
            wire.disconnect()  # no api thread: connectionClosed and reset happen here
        for thread in self.threads():
            if thread is not threading.current_thread():
                thread.join(timeout=5)

    def _on_callback_thread(self) -> bool:
        """Callbacks run on the api thread or the reader thread, whichever has the turn."""
        return threading.current_thread() in (self._api_thread, self._reader_thread)

    def threads(self) -> list[threading.Thread]:
        """The threads this app started that are still running (none after stop())."""
        mine = (self._handshake, self._reader_thread, self._api_thread, self.pacer.thread,
                self._reconnect_thread)  # fmt: skip
        return [t for t in mine if isinstance(t, threading.Thread) and t.is_alive()]

    def request(
        self, what: str, send: Callable[[int], None], timeout: float | None = None
    ) -> list[Any]:
        """A one-off request under a new reqId: ``send(req_id)``, then wait for its whole answer
        (each data callback's name and arguments, in order) until its end marker. Raises
        RequestError when TWS refuses it, RequestTimeout when it does not answer."""
        req_id = self._requests.new_id()
        wait = timeout or self.request_timeout
        return self._requests.call(req_id, what, lambda: send(req_id), wait)

    def current_time(self, timeout: float | None = None) -> int:
        """TWS's clock (reqCurrentTime), in epoch seconds.

        Also a barrier: TWS answers requests in order, so once the answer is here every request
        sent before it has been processed.
        """
        wire = self._wire
        wait = (timeout or self.request_timeout) + self.pacer.backlog()
        return self._requests.call("currentTime", "reqCurrentTime", wire.reqCurrentTime, wait)[0]

    @property
    def ready(self) -> bool:
        """The session can trade: connected, resynced, and TWS linked to IB."""
        return (
            self._started
            and not self._stopping
            and self._wire.isConnected()
            and not self._reconnecting
            and not self._resyncing
            and not self._link_lost
        )


def _filters(**given: str | None) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in given.items() if v is not None)


def _described(record: OrderRecord) -> str:
    order, contract = record.order, record.contract
    what = f"{order.action} {order.totalQuantity} {order.orderType}" if order is not None else ""
    return f"order {record.order_id} {what} {contract.symbol if contract else ''}".rstrip()
