"""Time and matching: each simulated second, expire what its time in force ends and fill what
the market allows.

A mixin of ``Exchange``, reading the market from the tape (``tape.Tape``), the same quotes and
trades market data shows. An order that is marketable (a market order, a limit the opposite
quote has reached) fills at the touch: the ask for a buy, the bid for a sell. A limit order
resting in the book also fills when the tape trades at or through it (a print at or below a
buy's limit, at or above a sell's): at its limit, stamped with the time of that print, when the
quote in force bracketed it. So every fill is inside the quote of its moment. At most the
displayed size fills per second; stops trigger on the last price. The simulator's own fills do
not print on the tape: the market is deep.
"""

from __future__ import annotations

import copy
import math
from datetime import datetime
from decimal import Decimal

from ibapi.commission_and_fees_report import CommissionAndFeesReport
from ibapi.execution import Execution

from . import messages as m
from .instruments import OVERNIGHT
from .records import EXEC_TIME_FORMAT, TWS_TIME_ZONE, Fill, SimOrder
from .triggers import AUCTION_TYPES, PEGGED_TYPES, TRIGGERED_TYPES
from .wire import UNSET_DOUBLE
from .working import WorkingOrders

EXEC_VENUE = {"NASDAQ": "ISLAND", "NYSE": "NYSE", "ARCA": "ARCA", "BATS": "BATS"}


def commission_for(sec_type: str, quantity: Decimal, price: float) -> float:
    """IB's fixed-rate schedule, roughly: what a fill (or a what-if preview) costs."""
    if sec_type == "FUT":
        return round(0.85 * float(quantity), 2)
    if sec_type == "CASH":
        return round(max(2.0, 0.00002 * float(quantity) * price), 2)
    per_share = 0.005 * float(quantity)
    cap = 0.01 * float(quantity) * price
    return round(min(max(1.0, per_share), max(cap, 1.0)), 2)


class Matching(WorkingOrders):
    """Mixin of ``Exchange``: uses its state, clock, message helpers and ``_cancel``; what
    each order type is worth this second comes from ``working``."""

    def on_clock(self) -> None:
        """Process every simulated second up to the clock's present, then sample market data,
        P&L subscriptions and keepUpToDate history requests.

        Seconds nobody watches (no working order, no tick-by-tick or bar stream) are skipped.
        """
        target = int(self.clock.elapsed())
        with self.lock:
            if self._step >= target:
                return
            while self._step < target:
                working = self._working(None)
                if not working and not self._has_streams():
                    self._step = target
                    break
                self._step += 1
                self._stream_step(self._step)
                for so in sorted(working, key=lambda o: o.perm_id):
                    if not so.done:
                        self._expire_or_match(so)
            self._sample_lines()
            self._sample_pnl()
            self._sample_history()

    def _expire_or_match(self, so: SimOrder) -> None:
        if so.order.orderType in AUCTION_TYPES and so.work.auction_close is not None:
            if self._auction_due(so):
                self._auction(so)
            return
        if self._expired(so):  # DAY at its session's end, GTD at its time (tif.py)
            self._cancel(so, by="System")
            return
        if so.work.opening is not None:  # OPG: nothing but the opening auction
            if self._step >= so.work.opening:
                self._opening(so)
            return
        if so.last_match != self._step:  # a child activated this second has had its look
            self._match(so, self._step, first=False)
        self._settle_oca(so)

    def _auction(self, so: SimOrder) -> None:
        """The close: a MOC fills at the closing price, a LOC too if that is at or better than
        its limit (else it is cancelled); all of it, at the moment of the close."""
        if so.held or self._waits_for_parent(so):
            self._cancel(so, by="System")
            return
        price = self._closing_price(so)
        if so.order.orderType == "LOC":
            limit, buy = so.order.lmtPrice, so.order.action == "BUY"
            if (buy and price > limit) or (not buy and price < limit):
                self._cancel(so, by="System")
                return
        self._set_status(so, "Submitted")
        self._fill(so, so.remaining, price, self._step)

    def _opening(self, so: SimOrder) -> None:
        """The opening auction: a MOO fills at the opening price, a LOO too if that is at or
        better than its limit (else it is cancelled); all of it, at the open (tif.py)."""
        if so.held or self._waits_for_parent(so):
            self._cancel(so, by="System")
            return
        price = self._opening_price(so)
        if so.order.orderType == "LMT":
            limit, buy = so.order.lmtPrice, so.order.action == "BUY"
            if (buy and price > limit) or (not buy and price < limit):
                self._cancel(so, by="System")
                return
        so.work.opening = None
        self._set_status(so, "Submitted")
        self._fill(so, so.remaining, price, self._step)

    def _match(self, so: SimOrder, step: int, first: bool) -> None:
        if so.held or self._waits_for_parent(so):
            return
        if self._watching(so) and self._watch_conditions(so, step, first):
            first = True  # its conditions just let it work: this is its first look
        if so.done or self._gated(so):  # cancelled by its conditions, or still waiting
            return
        so.last_match = step
        if so.done or not self._venue_open(so, step):
            if first and so.order.tif in ("IOC", "FOK"):
                self._cancel(so, by="System")
            return
        kind = so.order.orderType
        if kind in AUCTION_TYPES:  # they wait for the close (_expire_or_match)
            return
        quote = self.prices.quote(so.contract.conId, float(step))
        buy = so.order.action == "BUY"
        resting = not first  # it was in the book before this second's trades printed
        if kind in TRIGGERED_TYPES and not so.triggered:
            if not self._hit(so, step, first):
                return
            so.triggered = True
            resting = False  # the trade that triggered it cannot also fill its limit
            self._set_status(so, "Submitted")
        touch = quote.ask if buy else quote.bid
        price, when = touch, float(step)
        limit = self._limit_of(so, step)
        if limit is not None and ((buy and touch > limit) or (not buy and touch < limit)):
            # Not marketable: a resting order trades at its limit if the tape printed there
            # (a pegged order at the limit it rested at, the second before).
            if resting and kind in PEGGED_TYPES:
                limit = self._limit_of(so, step - 1) or limit
            through = self._trade_through(so, step, limit, buy) if resting else None
            if through is None:
                if first and so.order.tif in ("IOC", "FOK"):
                    self._cancel(so, by="System")
                return
            price, when = limit, through
        if so.work.oca_blocked == step:  # another order of its OCA group is being filled
            return
        size = so.remaining
        display = so.instrument.display_size or self.display_size
        if display is not None and display > 0:
            if so.order.tif == "FOK" and size > display:  # all of it at once, or nothing
                self._cancel(so, by="System")
                return
            size = min(size, Decimal(display))
        self._fill(so, size, price, step, when)
        if so.order.tif == "IOC" and not so.done:
            self._cancel(so, by="System")

    def _trade_through(self, so: SimOrder, step: int, limit: float, buy: bool) -> float | None:
        """The time of this second's first print at or through ``limit``, if any (none while
        the tape is closed: the OVERNIGHT venue prints no trades of its own here)."""
        if not self.tape.is_trading(so.contract.conId, step):
            return None
        for trade in self.tape.step_trades(so.contract.conId, step):
            if (buy and trade.price <= limit) or (not buy and trade.price >= limit):
                return trade.time
        return None

    def _fill(
        self, so: SimOrder, quantity: Decimal, price: float, step: int, when: float | None = None
    ) -> None:
        """Book a fill found at ``step``; ``when`` is the moment it traded (default: ``step``).

        A group order's fill is split across its accounts (``advisor.py``): the advisor's block
        execution and its report come first where the login has an advisor account, then one
        execution and report per account.
        """
        new_filled = so.filled + quantity
        # In decimals, as the prices are: 30 at 100.37 average 100.37, not 100.37000000000002.
        paid = so.filled * Decimal(repr(so.avg_fill_price)) + quantity * Decimal(repr(price))
        so.avg_fill_price = float(paid / new_filled)
        so.filled = new_filled
        so.last_fill_price = price
        traded = self._moment(step if when is None else math.floor(when))
        if so.allocation is None:
            commission = commission_for(so.contract.secType, quantity, price)
            account = so.order.account
            first = [self._book_execution(so, account, quantity, price, traded, step, commission)]
            later: list[Fill] = []
        else:
            first, later = self._allocated_fill(so, quantity, price, traded, step)

        batch: list[m.Message] = [m.ExecDetails(-1, f.contract, f.execution) for f in first]
        if so.remaining <= 0:
            so.status = "Filled"
            so.done_step = step
            batch += [self._open_order(so), self._status(so), self._open_order(so, True)]
        else:
            so.status = "Submitted"
            batch.append(self._status(so))
        batch += [m.CommissionReport(f.report) for f in first]
        for f in later:
            batch += [m.ExecDetails(-1, f.contract, f.execution), m.CommissionReport(f.report)]
        self._emit_order(so, batch)
        self._after_fill(so, [f.execution.acctNumber for f in (*first, *later) if not f.block])
        self._one_cancels_other(so, quantity)
        if so.status == "Filled":
            self._activate_children(so)

    def _book_execution(
        self,
        so: SimOrder,
        account_id: str,
        quantity: Decimal,
        price: float,
        traded: datetime,
        step: int,
        commission: float,
        block: bool = False,
    ) -> Fill:
        """One execution of ``so`` for ``account_id``, booked to that account (an advisor's
        block execution books nothing: its accounts' executions do), with its report."""
        self._exec_seq += 1
        exec_id = f"{self._exec_prefix}.{self._exec_seq:08x}.01.01"
        so.executions.append(exec_id)
        realized = None
        if not block:
            so.commission += commission
            account = self.accounts[account_id]
            _, realized = account.apply_fill(
                so.contract, so.order.action, quantity, price, commission
            )
        execution = Execution()
        execution.execId = exec_id
        execution.time = f"{traded.strftime(EXEC_TIME_FORMAT)} {TWS_TIME_ZONE}"
        execution.acctNumber = account_id
        execution.exchange = self._venue(so)
        execution.side = "BOT" if so.order.action == "BUY" else "SLD"
        execution.shares = quantity
        execution.price = price
        execution.permId = so.perm_id
        execution.clientId = so.client_id
        execution.orderId = so.order_id
        execution.liquidation = 0
        execution.cumQty = so.filled
        execution.avgPrice = so.avg_fill_price
        execution.orderRef = so.order.orderRef
        execution.lastLiquidity = 2
        report = CommissionAndFeesReport()
        report.execId = exec_id
        report.commissionAndFees = commission
        report.currency = "USD"
        report.realizedPNL = UNSET_DOUBLE if realized is None else realized
        report.yield_ = UNSET_DOUBLE
        report.yieldRedemptionDate = 0
        contract = copy.copy(so.contract)
        contract.exchange = execution.exchange
        fill = Fill(contract, execution, report, step, block)
        self.fills.append(fill)
        return fill

    def _venue(self, so: SimOrder) -> str:
        if so.contract.exchange == OVERNIGHT:
            return OVERNIGHT
        details = so.instrument.details
        if details.contract.secType in ("CASH", "FUT"):
            return details.contract.exchange
        primary = details.contract.primaryExchange or details.contract.exchange
        return EXEC_VENUE.get(primary, primary)
