"""The simulated TWS back end: one instance's sessions, dispatch and order lifecycle.

Everything here is deterministic for a given seed, catalog and sequence of (request, time step):
there is no wall clock and no randomness beyond the seeded generators. The server feeds it
decoded requests and clock ticks; it answers with ``messages`` objects addressed to client ids,
pushed to per-client sinks while its lock is held, so each client sees them in exchange order.

The state every part shares is declared in ``state.ExchangeState``. ``Exchange`` holds the
dispatch table and the lifecycle every part uses (announce, status, cancel); the rest is in
mixins, one concern each: ``entry`` (place, modify, what-if, TWS-UI orders), ``matching`` (time
steps, fills), ``groups`` (transmit, brackets, OCA), ``portfolio`` (positions and account values),
``queries`` (open / completed orders, executions), ``marketdata`` (quotes, tick by tick and
real-time bars from the tape), ``pnl_feed`` (reqPnL and reqPnLSingle streams), ``history``
(historical bars with keepUpToDate, head timestamps and historical ticks, from the same tape),
``advisor`` (requestFA / replaceFA, group orders split across accounts) and ``multi``
(reqAccountUpdatesMulti, reqPositionsMulti).
"""

from __future__ import annotations

import copy
import functools
import logging
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, TypeVar

from ibapi.message import OUT
from ibapi.order_state import OrderState

from . import messages as m
from . import rules
from .advisor import AdvisorAccounts
from .entry import OrderEntry
from .groups import OrderGroups
from .history import History
from .marketdata import MarketData
from .matching import Matching
from .multi import MultiAccountViews
from .pnl_feed import PnLFeed
from .portfolio import Portfolio
from .queries import OrderQueries
from .records import SimOrder
from .rules import refuse
from .state import ExchangeState, Sink

__all__ = ["UNSUPPORTED_REQUESTS", "Exchange", "Sink"]

log = logging.getLogger("twsapp.sim")

R = TypeVar("R", bound=m.Request)
Handler = Callable[[int, Any], None]

# Every request ibapi can send that the simulator refuses by design, by ibapi's message id: each
# is answered with error 321 "... is not supported" to its reqId (-1 when it carries none), and
# the session stays up, as TWS answers a request it cannot serve. The simulator serves orders,
# accounts (positions, summary, updates and their multi forms, reqPnL / reqPnLSingle, an
# advisor's groups: requestFA / replaceFA), live market data (top of book, tick by tick,
# 5-second bars) and history (bars with keepUpToDate, head timestamps, historical ticks);
# market depth, histograms, options analytics, scanners, news, display groups and the
# verification / config handshakes are out. tests/test_sim_requests.py checks that every ibapi message id is either
# here or served.
UNSUPPORTED_REQUESTS: frozenset[int] = frozenset(
    {
        # market data beyond top of book, tick by tick and real-time bars
        OUT.REQ_MKT_DEPTH,
        OUT.CANCEL_MKT_DEPTH,
        OUT.REQ_MKT_DEPTH_EXCHANGES,
        OUT.REQ_SMART_COMPONENTS,
        # historical data beyond bars, head timestamps and ticks
        OUT.REQ_HISTOGRAM_DATA,
        OUT.CANCEL_HISTOGRAM_DATA,
        # options
        OUT.EXERCISE_OPTIONS,
        OUT.REQ_CALC_IMPLIED_VOLAT,
        OUT.CANCEL_CALC_IMPLIED_VOLAT,
        OUT.REQ_CALC_OPTION_PRICE,
        OUT.CANCEL_CALC_OPTION_PRICE,
        OUT.REQ_SEC_DEF_OPT_PARAMS,
        # scanners
        OUT.REQ_SCANNER_SUBSCRIPTION,
        OUT.CANCEL_SCANNER_SUBSCRIPTION,
        OUT.REQ_SCANNER_PARAMETERS,
        # reference data beyond contract details
        OUT.REQ_FUNDAMENTAL_DATA,
        OUT.CANCEL_FUNDAMENTAL_DATA,
        OUT.REQ_MATCHING_SYMBOLS,
        OUT.REQ_FAMILY_CODES,
        OUT.REQ_SOFT_DOLLAR_TIERS,
        OUT.CANCEL_CONTRACT_DATA,
        # news and events
        OUT.REQ_NEWS_BULLETINS,
        OUT.CANCEL_NEWS_BULLETINS,
        OUT.REQ_NEWS_PROVIDERS,
        OUT.REQ_NEWS_ARTICLE,
        OUT.REQ_HISTORICAL_NEWS,
        OUT.REQ_WSH_META_DATA,
        OUT.CANCEL_WSH_META_DATA,
        OUT.REQ_WSH_EVENT_DATA,
        OUT.CANCEL_WSH_EVENT_DATA,
        # account views beyond positions / summary / updates / P&L and their multi forms
        OUT.REQ_USER_INFO,
        # display groups
        OUT.QUERY_DISPLAY_GROUPS,
        OUT.SUBSCRIBE_TO_GROUP_EVENTS,
        OUT.UPDATE_DISPLAY_GROUP,
        OUT.UNSUBSCRIBE_FROM_GROUP_EVENTS,
        # server administration and verification
        OUT.SET_SERVER_LOGLEVEL,
        OUT.VERIFY_REQUEST,
        OUT.VERIFY_MESSAGE,
        OUT.VERIFY_AND_AUTH_REQUEST,
        OUT.VERIFY_AND_AUTH_MESSAGE,
        OUT.REQ_CONFIG,
        OUT.UPDATE_CONFIG,
    }
)


class Exchange(
    OrderEntry,
    Matching,
    OrderGroups,
    Portfolio,
    OrderQueries,
    MarketData,
    PnLFeed,
    History,
    AdvisorAccounts,
    MultiAccountViews,
    ExchangeState,
):
    """One TWS instance: the shared state (``ExchangeState``) served through its mixins."""

    @functools.cached_property
    def handlers(self) -> Mapping[type[m.Request], Handler]:
        """Which decoded request goes to which handler; anything else gets the 321 refusal."""
        return MappingProxyType(self._handler_table())

    def _handler_table(self) -> dict[type[m.Request], Handler]:
        """The one place a request class is bound to its handler.

        ``StartApi`` is not here: the session answers it before the client exists for the
        exchange, and a repeated one is refused like any unsupported request.
        """
        table: dict[type[m.Request], Handler] = {}

        def on(kind: type[R], handler: Callable[[int, R], None]) -> None:
            if kind in table:
                raise ValueError(f"{kind.__name__} has two handlers")
            table[kind] = handler

        on(m.ReqIds, self._on_ReqIds)
        on(m.ReqCurrentTime, self._on_ReqCurrentTime)
        on(m.ReqCurrentTimeInMillis, self._on_ReqCurrentTimeInMillis)
        on(m.ReqManagedAccts, self._on_ReqManagedAccts)
        on(m.ReqContractDetails, self._on_ReqContractDetails)
        on(m.ReqMarketRule, self._on_ReqMarketRule)
        on(m.PlaceOrder, self._on_PlaceOrder)
        on(m.CancelOrder, self._on_CancelOrder)
        on(m.ReqGlobalCancel, self._on_ReqGlobalCancel)
        on(m.ReqOpenOrders, self._on_ReqOpenOrders)
        on(m.ReqAllOpenOrders, self._on_ReqAllOpenOrders)
        on(m.ReqAutoOpenOrders, self._on_ReqAutoOpenOrders)
        on(m.ReqCompletedOrders, self._on_ReqCompletedOrders)
        on(m.ReqExecutions, self._on_ReqExecutions)
        on(m.ReqPositions, self._on_ReqPositions)
        on(m.CancelPositions, self._on_CancelPositions)
        on(m.ReqAccountSummary, self._on_ReqAccountSummary)
        on(m.CancelAccountSummary, self._on_CancelAccountSummary)
        on(m.ReqAccountUpdates, self._on_ReqAccountUpdates)
        on(m.ReqMarketDataType, self._on_ReqMarketDataType)
        on(m.ReqMktData, self._on_ReqMktData)
        on(m.CancelMktData, self._on_CancelMktData)
        on(m.ReqTickByTickData, self._on_ReqTickByTickData)
        on(m.CancelTickByTickData, self._on_CancelTickByTickData)
        on(m.ReqRealTimeBars, self._on_ReqRealTimeBars)
        on(m.CancelRealTimeBars, self._on_CancelRealTimeBars)
        on(m.ReqPnL, self._on_ReqPnL)
        on(m.CancelPnL, self._on_CancelPnL)
        on(m.ReqPnLSingle, self._on_ReqPnLSingle)
        on(m.CancelPnLSingle, self._on_CancelPnLSingle)
        on(m.ReqHistoricalData, self._on_ReqHistoricalData)
        on(m.CancelHistoricalData, self._on_CancelHistoricalData)
        on(m.ReqHeadTimeStamp, self._on_ReqHeadTimeStamp)
        on(m.CancelHeadTimeStamp, self._on_CancelHeadTimeStamp)
        on(m.ReqHistoricalTicks, self._on_ReqHistoricalTicks)
        on(m.CancelHistoricalTicks, self._on_CancelHistoricalTicks)
        on(m.ReqFA, self._on_ReqFA)
        on(m.ReplaceFA, self._on_ReplaceFA)
        on(m.ReqAccountUpdatesMulti, self._on_ReqAccountUpdatesMulti)
        on(m.CancelAccountUpdatesMulti, self._on_CancelAccountUpdatesMulti)
        on(m.ReqPositionsMulti, self._on_ReqPositionsMulti)
        on(m.CancelPositionsMulti, self._on_CancelPositionsMulti)
        on(m.Unsupported, self._unsupported)
        return table

    # ------------------------------------------------------------------ sessions

    def attach(self, client_id: int, sink: Sink) -> bool:
        """Bind a connected client; False if that clientId is already connected."""
        with self.lock:
            if client_id in self._sinks:
                return False
            self._sinks[client_id] = sink
            return True

    def detach(self, client_id: int) -> None:
        with self.lock:
            self._sinks.pop(client_id, None)
            self._position_subs.discard(client_id)
            self._account_subs.pop(client_id, None)
            self._auto_bind.discard(client_id)
            self._forget_market_data(client_id)
            self._forget_pnl(client_id)
            self._forget_history(client_id)
            self._forget_multi(client_id)

    def welcome(self, client_id: int) -> None:
        """What TWS sends right after startApi: accounts, the next id, open orders, farm notes."""
        with self.lock:
            batch: list[m.Message] = [
                m.ManagedAccounts(list(self.account_ids)),
                m.NextValidId(self._next_id(client_id)),
            ]
            for so in self._working(client_id):
                batch += [self._open_order(so), self._status(so)]
            for code, text in rules.FARM_NOTICES:
                batch.append(m.ErrorMsg(-1, code, text, "", self._millis()))
            self._emit(client_id, batch)

    # ------------------------------------------------------------------ dispatch

    def handle(self, client_id: int, request: m.Request) -> None:
        with self.lock:
            handler = self.handlers.get(type(request), self._unsupported)
            handler(client_id, request)

    def _unsupported(self, client_id: int, request: m.Request) -> None:
        """TWS's answer to a request it cannot serve: 321 to the request's id, session kept."""
        req_id = getattr(request, "req_id", -1)
        if isinstance(request, m.Unsupported):
            name = request.name or f"request id {request.msg_id}"
        else:  # a request class with no handler, e.g. a second startApi
            name = type(request).__name__
        if isinstance(request, m.Unsupported) and request.msg_id not in UNSUPPORTED_REQUESTS:
            log.warning("client %d sent unknown request id %s (reqId %d): answered with 321",
                        client_id, request.msg_id, req_id)  # fmt: skip
        else:
            log.warning("client %d sent %s (reqId %d): not supported, answered with 321",
                        client_id, name, req_id)  # fmt: skip
        cause = f"{name} is not supported by the twsapp simulator"
        self._error(client_id, req_id, refuse(rules.VALIDATION, tag="bS", cause=cause))

    def _on_ReqIds(self, client_id: int, req: m.ReqIds) -> None:
        self._emit(client_id, [m.NextValidId(self._next_id(client_id))])

    def _on_ReqCurrentTime(self, client_id: int, req: m.ReqCurrentTime) -> None:
        self._emit(client_id, [m.CurrentTime(int(self.clock.now().timestamp()))])

    def _on_ReqCurrentTimeInMillis(self, client_id: int, req: m.ReqCurrentTimeInMillis) -> None:
        self._emit(client_id, [m.CurrentTimeInMillis(self._millis())])

    def _on_CancelHistoricalTicks(self, client_id: int, req: m.CancelHistoricalTicks) -> None:
        """Accepted and not answered: reqHistoricalTicks is answered in one piece, so there is
        nothing left to stop (ibapi sends this cancel as protobuf only, from server version
        215, CANCEL_CONTRACT_DATA)."""

    def _on_ReqManagedAccts(self, client_id: int, req: m.ReqManagedAccts) -> None:
        self._emit(client_id, [m.ManagedAccounts(list(self.account_ids))])

    def _on_ReqContractDetails(self, client_id: int, req: m.ReqContractDetails) -> None:
        rows = self.catalog.details_for_request(req.contract, at=self._moment(self._step))
        if not rows:
            self._error(client_id, req.req_id, refuse(rules.NO_SECURITY))
            return
        batch: list[m.Message] = [m.ContractData(req.req_id, d) for d in rows]
        batch.append(m.ContractDataEnd(req.req_id))
        self._emit(client_id, batch)

    def _on_ReqMarketRule(self, client_id: int, req: m.ReqMarketRule) -> None:
        increments = self.catalog.market_rule(req.market_rule_id)
        if increments is None:
            cause = f"Unknown market rule id {req.market_rule_id}"
            self._error(client_id, -1, refuse(rules.VALIDATION, tag="bM", cause=cause))
            return
        self._emit(client_id, [m.MarketRule(req.market_rule_id, list(increments))])

    # ------------------------------------------------------------------ order lifecycle

    def _on_CancelOrder(self, client_id: int, req: m.CancelOrder) -> None:
        so = self.orders.get((client_id, req.order_id))
        if so is None:
            self._error(
                client_id, req.order_id, refuse(rules.CANCEL_NOT_FOUND, order_id=req.order_id)
            )
            return
        if so.done:
            refusal = refuse(rules.CANCEL_DONE, order_id=req.order_id, state=so.status)
            self._error(client_id, req.order_id, refusal)
            return
        late = self._cancel_refusal(so)  # a MOC or LOC close to its auction
        if late is not None:
            self._error(client_id, req.order_id, late)
            return
        self._cancel(so)

    def _on_ReqGlobalCancel(self, client_id: int, req: m.ReqGlobalCancel) -> None:
        for so in sorted(self._not_done(), key=lambda o: o.perm_id):
            if not so.done:
                self._cancel(so)

    def _cancel(self, so: SimOrder, by: str = "Trader") -> None:
        """Cancel ``so`` and, as TWS does, the children still waiting on it."""
        reason = "Order was discarded." if so.held else ""
        so.held = False
        so.status = "Cancelled"
        so.done_step = self._step
        so.cancelled_by = by
        text = rules.text(rules.CANCELLED) + reason
        self._emit_order(
            so,
            [self._status(so), m.ErrorMsg(so.order_id, rules.CANCELLED, text, "", self._millis())],
        )
        for child in self._children(so):
            if not child.done:
                self._cancel(child, by)

    def _set_status(self, so: SimOrder, status: str) -> None:
        so.status = status
        self._emit_order(so, [self._open_order(so), self._status(so)])

    def _open_order(self, so: SimOrder, with_commission: bool = False) -> m.OpenOrder:
        state = OrderState()
        state.status = so.status
        if with_commission:
            state.commissionAndFees = so.commission
            state.commissionAndFeesCurrency = "USD"
        return m.OpenOrder(so.order_id, copy.copy(so.contract), copy.copy(so.order), state)

    def _status(self, so: SimOrder) -> m.OrderStatus:
        return m.OrderStatus(
            order_id=so.order_id,
            status=so.status,
            filled=so.filled,
            remaining=so.remaining,  # a cancelled order keeps its unfilled rest (captures)
            avg_fill_price=so.avg_fill_price,
            perm_id=so.perm_id,
            parent_id=so.order.parentId,
            last_fill_price=so.last_fill_price,
            client_id=max(so.client_id, 0),
            why_held=self._why_held(so),
            mkt_cap_price=0.0,
        )

    # ------------------------------------------------------------------ time

    @property
    def step(self) -> int:
        return self._step

    def millis(self) -> int:
        """The simulated now in epoch milliseconds (error times): never the wall clock."""
        with self.lock:
            return self._millis()
