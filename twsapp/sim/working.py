"""How each order type works once accepted: triggers (stops, trailing stops, touched orders),
pegged prices (REL, MIDPRICE), the closing auction (MOC, LOC), and what an instrument offers.

A mixin of ``Exchange`` under ``matching`` (which fills what this part says is marketable),
reading the tape: the rules themselves are pure, in ``triggers``.

The closing auction, per IB's Market-on-Close order page: MOC orders must reach NYSE markets by
15:50 New York time and Nasdaq by 15:55, and neither may be cancelled or changed after 15:50;
LOC orders follow the same rules. The simulator applies those cut-offs to the instrument's
regular close (ten and five minutes before it, so an early close moves them too), refuses a new
MOC or LOC after the cut-off with 201 (TWS's rejection; the reason's wording is ours, no capture
shows TWS's), a modification after ten minutes before the close the same way, and a
cancellation with 10148. A MOC fills entirely at the closing price, the session's last price;
a LOC only if that is at or better than its limit, else it is cancelled at the close.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

from ibapi.contract import Contract
from ibapi.order import Order

from . import rules
from .instruments import Instrument, Rule
from .prices import midpoint
from .records import SimOrder
from .rules import Refusal, refuse
from .tif import TimesInForce
from .triggers import (
    AUCTION_TYPES,
    PEGGED_TYPES,
    TRAILING_TYPES,
    Look,
    Work,
    beyond,
    is_hit,
    method_for,
    peg,
    reference,
    rises,
    trail,
)
from .wire import is_set

_LIMITED = frozenset({"LMT", "STP LMT", "LIT", "LOC"})  # work at their lmtPrice
_ENTRY_CUTOFF = {"NASDAQ": timedelta(minutes=5)}  # before the close; others: ten minutes
_CHANGE_CUTOFF = timedelta(minutes=10)
_LOOKS_KEPT = 256  # seconds x instruments: the few a step's orders read


class WorkingOrders(TimesInForce):
    """Mixin of ``Exchange``: uses its state, tape and message helpers; what the time in force
    and the conditions allow is ``tif``'s and ``conditions``'."""

    # ------------------------------------------------------------------ acceptance

    def _check_working(self, instrument: Instrument, order: Order, modifying: bool) -> None:
        """What the instrument offers, and the auction cut-offs; Refusal otherwise."""
        rules.check_offered(order, instrument.details.orderTypes)
        if order.orderType not in AUCTION_TYPES:
            return
        close = self._closing_auction(instrument)
        if close is None:
            reason = f"{order.orderType} orders are taken on a trading day, for its close"
            raise refuse(rules.REJECTED, reason=reason)
        before = _CHANGE_CUTOFF
        if not modifying:
            before = _ENTRY_CUTOFF.get(_primary(instrument), _CHANGE_CUTOFF)
        limit = close - int(before.total_seconds())
        if self._step >= limit:
            when = self._moment(limit).astimezone(instrument.time_zone)
            what = "changed" if modifying else "placed"
            reason = (
                f"{order.orderType} orders for today's close cannot be {what} after "
                f"{when:%H:%M} {instrument.details.timeZoneId}"
            )
            raise refuse(rules.REJECTED, reason=reason)

    def _cancel_refusal(self, so: SimOrder) -> Refusal | None:
        """A MOC or LOC cannot be cancelled in the last ten minutes before its close, nor an
        OPG order after its auction's cut-off."""
        close = so.work.auction_close
        if close is None or self._step < close - int(_CHANGE_CUTOFF.total_seconds()):
            return self._tif_cancel_refusal(so)
        return refuse(rules.CANCEL_DONE, order_id=so.order_id, state=so.status)

    def _start_working(self, so: SimOrder, fresh: bool = True) -> None:
        """Set up what the order needs to work, as it goes live (``fresh``) or is modified:
        a trailing stop's initial stop and limit offset, an auction order's close, its expiry
        or opening auction, its conditions."""
        order, kind = so.order, so.order.orderType
        if fresh:
            so.work = Work()
            self._start_conditions(so)
        else:
            so.work.run, so.work.last_size, so.work.quote_size = 0, None, None
        self._start_tif(so)
        if kind in AUCTION_TYPES:
            so.work.auction_close = self._closing_auction(so.instrument)
        if kind not in TRAILING_TYPES:
            return
        up = rises(kind, order.action)
        if not _given(order.trailStopPrice):
            look = self._look(so, self._step, first=True)
            method = method_for(order.triggerMethod, self.tape.has_trades(so.contract.conId))
            ref = reference(method, look, up)
            ref = ref if ref is not None else self.prices.price_at(so.contract.conId, self._step)
            order.trailStopPrice = self._trail(so, None, ref, up)
        if kind == "TRAIL LIMIT":
            if _given(order.lmtPriceOffset):
                offset = Decimal(repr(order.lmtPriceOffset))
            else:  # a limit price: its distance to the initial stop is kept
                stop, limit = Decimal(repr(order.trailStopPrice)), Decimal(repr(order.lmtPrice))
                offset = limit - stop if up else stop - limit
            so.work.limit_offset = offset
            if so.triggered:
                so.work.limit = beyond(order.trailStopPrice, offset, up)

    # ------------------------------------------------------------------ each second

    def _hit(self, so: SimOrder, step: int, first: bool) -> bool:
        """Is the order's trigger hit at ``step``? A trailing stop that is not moves with the
        market, and TWS's openOrder reports where it now is."""
        order, kind = so.order, so.order.orderType
        up = rises(kind, order.action)
        method = method_for(order.triggerMethod, self.tape.has_trades(so.contract.conId))
        look = self._look(so, step, first)
        if kind not in TRAILING_TYPES:
            return is_hit(so.work, method, look, order.auxPrice, up)
        stop = order.trailStopPrice
        if is_hit(so.work, method, look, stop, up):
            if so.work.limit_offset is not None:
                so.work.limit = beyond(stop, so.work.limit_offset, up)
            return True
        ref = reference(method, look, up)
        if ref is not None and _may_move(order, stop, ref, up):
            moved = self._trail(so, stop, ref, up)
            if moved != stop:
                order.trailStopPrice = moved
                self._emit_order(so, [self._open_order(so), self._status(so)])
        return False

    def _limit_of(self, so: SimOrder, step: int) -> float | None:
        """The limit the order works at in second ``step``; None for a market order."""
        order, kind = so.order, so.order.orderType
        if kind in _LIMITED:
            return order.lmtPrice
        if kind == "TRAIL LIMIT":
            return so.work.limit
        if kind in PEGGED_TYPES:
            cap = order.lmtPrice if _given(order.lmtPrice) else None
            offset = order.auxPrice if kind == "REL" else 0.0
            return peg(kind, order.action == "BUY", self._quote_look(so, step), offset, cap)
        return None

    def _auction_due(self, so: SimOrder) -> bool:
        close = so.work.auction_close
        return close is not None and self._step >= close

    def _closing_price(self, so: SimOrder) -> float:
        """The close: the regular session's last price."""
        close = so.work.auction_close
        assert close is not None
        return self.prices.price_at(so.contract.conId, close - 1)

    # ------------------------------------------------------------------ helpers

    def _look(self, so: SimOrder, step: int, first: bool) -> Look:
        """What a trigger sees of second ``step``; on an order's first look only the present
        (the last price, not the trades of the second before it existed)."""
        con_id = so.contract.conId
        quote = self._quote_look(so, step)
        if not self.tape.has_trades(con_id):
            return quote
        if first:
            latest = self.tape.last_trade(con_id, float(step))
            size = latest.size if latest else Decimal(0)
            return replace(quote, trades=((quote.last or 0.0, size),))
        key = (con_id, step, True)
        look = self._looks.get(key)
        if look is None:
            printed = self.tape.step_trades(con_id, step)
            trades = tuple((t.price, t.size) for t in printed if not t.odd_lot)
            look = self._remember_look(key, replace(quote, trades=trades))
        return look

    def _quote_look(self, so: SimOrder, step: int) -> Look:
        """The quote in force in second ``step`` (and the last price), without its trades."""
        con_id = so.contract.conId
        key = (con_id, step, False)
        look = self._looks.get(key)
        if look is None:
            quote = self.prices.quote(con_id, float(step))
            mid = midpoint(quote.bid, quote.ask, self.prices.decimals(con_id) + 1)
            last = quote.last if self.tape.has_trades(con_id) else None
            look = Look((), last, quote.bid, quote.ask, quote.bid_size, quote.ask_size, mid)
            look = self._remember_look(key, look)
        return look

    def _remember_look(self, key: tuple[int, int, bool], look: Look) -> Look:
        if len(self._looks) >= _LOOKS_KEPT:
            self._looks.clear()
        self._looks[key] = look
        return look

    def _trail(self, so: SimOrder, stop: float | None, ref: float, up: bool) -> float:
        order = so.order
        amount = order.auxPrice if _given(order.auxPrice) else None
        percent = order.trailingPercent if _given(order.trailingPercent) else None
        return trail(stop, ref, amount, percent, up, self._ladder(so.instrument, so.contract))

    def _ladder(self, instrument: Instrument, contract: Contract) -> Rule:
        exchange = contract.exchange or "SMART"
        try:
            rule = self.catalog.market_rule(instrument.rule_for_exchange(exchange))
        except (KeyError, ValueError, IndexError):
            rule = None
        return rule or [(0.0, instrument.min_tick)]

    def _closing_auction(self, instrument: Instrument) -> int | None:
        """The second of today's regular close, if today has one still to come."""
        step = self._step
        today = instrument.local_date(self._moment(step))
        for span in self.tape.sessions(instrument.con_id, step, step + 86_400, regular=True):
            if span.end > step:
                closes_today = instrument.local_date(self._moment(span.end - 1)) == today
                return span.end if closes_today else None
        return None


def _may_move(order: Order, stop: float, ref: float, up: bool) -> bool:
    """Could ``ref`` move the stop? A float look first: the exact figure (in decimals, on the
    tick) is worth making only when the price went the stop's way by about its distance."""
    amount = _given(order.auxPrice)
    distance = order.auxPrice if amount else ref * order.trailingPercent / 100
    slack = 1e-6 * max(1.0, abs(ref))
    return ref + distance < stop + slack if up else ref - distance > stop - slack


def _given(value: float) -> bool:
    return is_set(value) and value != 0


def _primary(instrument: Instrument) -> str:
    contract = instrument.contract
    return contract.primaryExchange or contract.exchange
