"""Order queries: open orders (and client 0's binding of TWS-UI orders), completed orders,
executions and their filter.

A mixin of ``Exchange``: it only reads orders and fills, except that client 0's reqOpenOrders
and reqAutoOpenOrders bind TWS-UI orders, as TWS does.
"""

from __future__ import annotations

import copy
from decimal import Decimal

from ibapi.execution import ExecutionFilter
from ibapi.order_state import OrderState

from . import messages as m
from . import rules
from .records import EXEC_TIME_FORMAT, TWS_TIME_ZONE, UNBOUND, Fill, SimOrder
from .rules import refuse
from .state import ExchangeState
from .wire import decimal_text


class OrderQueries(ExchangeState):
    """Mixin of ``Exchange``: uses its orders, fills and message helpers."""

    def _on_ReqOpenOrders(self, client_id: int, req: m.ReqOpenOrders) -> None:
        if client_id == 0:  # client 0 binds what was typed into TWS and is still working
            for so in sorted(self._working(UNBOUND), key=lambda o: o.perm_id):
                self._bind(so)
        self._send_open_orders(client_id, self._working(client_id))

    def _on_ReqAllOpenOrders(self, client_id: int, req: m.ReqAllOpenOrders) -> None:
        self._send_open_orders(client_id, self._working(None))

    def _on_ReqAutoOpenOrders(self, client_id: int, req: m.ReqAutoOpenOrders) -> None:
        if client_id != 0:
            cause = "reqAutoOpenOrders is only valid for client id 0"
            self._error(client_id, -1, refuse(rules.VALIDATION, tag="bB", cause=cause))
            return
        if req.auto_bind:
            self._auto_bind.add(client_id)
        else:
            self._auto_bind.discard(client_id)

    def _send_open_orders(self, client_id: int, orders: list[SimOrder]) -> None:
        batch: list[m.Message] = []
        for so in sorted(orders, key=lambda o: o.perm_id):
            batch += [self._open_order(so), self._status(so)]
        batch.append(m.OpenOrderEnd())
        self._emit(client_id, batch)

    def _on_ReqCompletedOrders(self, client_id: int, req: m.ReqCompletedOrders) -> None:
        batch: list[m.Message] = []
        done = [so for so in self.orders.values() if so.done]
        for so in sorted(done, key=lambda o: (o.done_step or 0, o.perm_id)):
            if req.api_only and not so.bound:
                continue
            batch.append(self._completed(so))
        batch.append(m.CompletedOrdersEnd())
        self._emit(client_id, batch)

    def _completed(self, so: SimOrder) -> m.CompletedOrder:
        """A done order as TWS lists it: a filled one reports its size as filled, not total."""
        order = copy.copy(so.order)
        order.filledQuantity = so.filled
        state = OrderState()
        state.status = so.status
        moment = self._moment(so.done_step if so.done_step is not None else self._step)
        state.completedTime = f"{moment.strftime(EXEC_TIME_FORMAT)} {TWS_TIME_ZONE}"
        if so.status == "Filled":
            order.totalQuantity = Decimal(0)
            state.completedStatus = f"Filled Size: {decimal_text(so.filled)}"
            state.commissionAndFees = so.commission
            state.commissionAndFeesCurrency = "USD"
        elif so.cancelled_by == "System":
            # sic, with the newline: a paper Gateway at v200 writes it so (public transcript
            # completed_orders_cancelled_system_live.txt of ThomasMarcelis/ibkr-go)
            state.completedStatus = "Cancelled by System:\n"
        else:
            state.completedStatus = "Cancelled by Trader"
        return m.CompletedOrder(copy.copy(so.contract), order, state)

    def _on_ReqExecutions(self, client_id: int, req: m.ReqExecutions) -> None:
        batch: list[m.Message] = []
        for fill in self.fills:
            if _matches(fill, req.exec_filter):
                batch.append(m.ExecDetails(req.req_id, fill.contract, fill.execution))
                batch.append(m.CommissionReport(fill.report))
        batch.append(m.ExecDetailsEnd(req.req_id))
        self._emit(client_id, batch)


def _matches(fill: Fill, f: ExecutionFilter) -> bool:
    e = fill.execution
    if f.clientId and e.clientId != f.clientId:
        return False
    if f.acctCode and e.acctNumber != f.acctCode:
        return False
    if f.symbol and fill.contract.symbol != f.symbol:
        return False
    if f.secType and fill.contract.secType != f.secType:
        return False
    if f.exchange and e.exchange != f.exchange:
        return False
    if f.side:
        side = {"BUY": "BOT", "SELL": "SLD"}.get(f.side, f.side)
        if e.side != side:
            return False
    if f.time:
        since = f.time.replace("-", " ").strip()[:17]
        if e.time[:17] < since:
            return False
    return True
