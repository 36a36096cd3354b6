"""How a waiting order decides it is hit, where a trailing stop sits, and where a pegged order
works: pure rules over what the tape shows in one simulated second.

Sources, IB's own:

* API reference, "Trigger Methods": 0 the instrument's default (last for stocks and futures,
  bid/ask for currencies, which have no trades: a last-driven method never triggers for them),
  1 double bid/ask, 2 last, 3 double last, 4 bid/ask, 7 last or bid/ask, 8 mid-point.
* TWS Users' Guide, "Modify the Stop Trigger Method": for a buy (sell) order, Last: a last price
  at or above (at or below) the trigger; Double Last: two consecutive last prices so, or one
  with the last size an increase; Bid/Ask: a bid (ask) at or above (at or below) it; Double
  Bid/Ask: two consecutive bids (asks) so, or one with the size an increase; Mid-point: the
  midpoint of the quote.
* TWS Users' Guide, trailing stop (limit): a sell's stop follows the price up at the trailing
  amount (or percentage) below it and never moves down; a buy is the mirror. A given initial
  stop is kept until the market moves far enough to move it. The limit of a TRAIL LIMIT is
  the stop minus the limit offset for a sell (plus for a buy).
* Order types "Relative / Pegged-to-Primary" (a buy at the bid plus the offset, a sell at the
  ask minus it, never through the price cap) and "MidPrice" (the quote's midpoint, never
  through the cap).

Our model where IB says nothing more precise: "consecutive" quotes are those of consecutive
seconds; odd lots never make a last price (as for US stocks); a touched order (MIT, LIT)
triggers on the same prices as a stop but from the other side, the quote side being the one
that puts the whole quote through the trigger (the bid for a buy stop, as the Guide says, and
the ask for a buy MIT); a trailing stop follows the price its trigger method watches, and a stop
figured from a percentage is rounded to the tick away from the price.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

STOP_TYPES = frozenset({"STP", "STP LMT", "TRAIL", "TRAIL LIMIT"})
TOUCH_TYPES = frozenset({"MIT", "LIT"})
TRIGGERED_TYPES = STOP_TYPES | TOUCH_TYPES
TRAILING_TYPES = frozenset({"TRAIL", "TRAIL LIMIT"})
AUCTION_TYPES = frozenset({"MOC", "LOC"})
PEGGED_TYPES = frozenset({"REL", "MIDPRICE"})
#: Working (Submitted) as soon as they are live; the others wait (PreSubmitted) for a trigger
#: or the closing auction.
WORKS_AT_ONCE = frozenset({"MKT", "LMT"}) | PEGGED_TYPES

LAST, DOUBLE_LAST, BID_ASK, DOUBLE_BID_ASK, LAST_OR_BID_ASK, MIDPOINT = 2, 3, 4, 1, 7, 8
_LAST_DRIVEN = frozenset({LAST, DOUBLE_LAST, LAST_OR_BID_ASK})


@dataclass(frozen=True)
class Look:
    """What a trigger sees of one simulated second: its trades (price, size; no odd lots; in
    time order) and the quote in force at its end."""

    trades: tuple[tuple[float, Decimal], ...]
    last: float | None  # the last price at the end of the second; None without trades (FX)
    bid: float
    ask: float
    bid_size: Decimal
    ask_size: Decimal
    mid: float


@dataclass
class Work:
    """The simulator's own state of a working order, beyond what TWS echoes of it."""

    run: int = 0  # consecutive observations through the trigger (the double methods)
    last_size: Decimal | None = None  # the previous trade's size (double last)
    quote_size: Decimal | None = None  # the previous second's size on the trigger's side
    limit_offset: Decimal | None = None  # TRAIL LIMIT: its limit's distance beyond the stop
    limit: float | None = None  # TRAIL LIMIT: the limit it works at once triggered
    auction_close: int | None = None  # MOC / LOC: the second of the close it trades at
    oca_owed: Decimal = Decimal(0)  # OCA type 3: reductions due after this second's own look
    oca_blocked: int | None = None  # OCA with block: the second another member filled in
    expires: int | None = None  # DAY / GTD: the second it is cancelled at (tif.py)
    opening: int | None = None  # OPG: the second of the opening auction it waits for
    gate: Gate | None = None  # an order with conditions: what they have seen (conditions.py)


@dataclass
class Gate:
    """An order's conditions until they hold: their trigger memories and what was seen."""

    works: list[Work]  # one per condition: the double trigger methods' memory (price)
    fills_seen: int  # the exchange's fills before the order went live (execution conditions)
    executed: list[bool]  # execution conditions already met (an execution is an event)
    met: bool = False


def method_for(method: int, has_trades: bool) -> int:
    """The method a trigger uses: 0 is the instrument's default."""
    if method == 0:
        return LAST if has_trades else BID_ASK
    return method


def rises(order_type: str, action: str) -> bool:
    """Does the order trigger on a price rising to its trigger (a buy stop, a sell MIT)?"""
    buy = action == "BUY"
    return buy if order_type in STOP_TYPES else not buy


def is_hit(work: Work, method: int, look: Look, trigger: float, up: bool) -> bool:
    """Is ``trigger`` hit in this second by ``method``? Updates the double methods' memory."""

    def through(price: float) -> bool:
        return price >= trigger if up else price <= trigger

    side, size = (look.bid, look.bid_size) if up else (look.ask, look.ask_size)
    if method == LAST:
        return any(through(price) for price, _ in look.trades)
    if method == LAST_OR_BID_ASK:
        return any(through(price) for price, _ in look.trades) or through(side)
    if method == BID_ASK:
        return through(side)
    if method == MIDPOINT:
        return through(look.mid)
    if method == DOUBLE_LAST:
        for price, trade_size in look.trades:
            grew = work.last_size is not None and trade_size > work.last_size
            hit = through(price) and (work.run >= 1 or grew)
            work.run = work.run + 1 if through(price) else 0
            work.last_size = trade_size
            if hit:
                return True
        return False
    if method == DOUBLE_BID_ASK:
        grew = work.quote_size is not None and size > work.quote_size
        hit = through(side) and (work.run >= 1 or grew)
        work.run = work.run + 1 if through(side) else 0
        work.quote_size = size
        return hit
    raise ValueError(f"unknown trigger method {method}")


def reference(method: int, look: Look, up: bool) -> float | None:
    """The price a trailing stop follows: the one its trigger method watches."""
    if method in _LAST_DRIVEN and look.last is not None:
        return look.last
    if method == MIDPOINT:
        return look.mid
    if method in _LAST_DRIVEN:
        return None  # no trades (yet)
    return look.bid if up else look.ask


def trail(
    stop: float | None,
    ref: float,
    amount: float | None,
    percent: float | None,
    up: bool,
    ladder: Sequence[tuple[float, float]],
) -> float:
    """Where a trailing stop sits after the market showed ``ref``: a sell's (``up`` False)
    trailing distance below it, never lower than ``stop``; a buy's above it, never higher."""
    price = _dec(ref)
    distance = _dec(amount) if amount else price * _dec(percent or 0) / 100
    candidate = to_tick(price + distance if up else price - distance, ladder, up)
    if stop is None:
        return candidate
    return min(stop, candidate) if up else max(stop, candidate)


def beyond(stop: float, offset: Decimal, up: bool) -> float:
    """A TRAIL LIMIT's limit: ``offset`` above the stop for a buy, below it for a sell."""
    return float(_dec(stop) + offset if up else _dec(stop) - offset)


def peg(order_type: str, buy: bool, look: Look, offset: float, cap: float | None) -> float:
    """Where a pegged order works this second: REL at the bid plus ``offset`` (a sell at the
    ask minus it), MIDPRICE at the midpoint; never through ``cap``."""
    if order_type == "REL":
        price = float(_dec(look.bid) + _dec(offset) if buy else _dec(look.ask) - _dec(offset))
    else:
        price = look.mid
    if cap is not None:
        price = min(price, cap) if buy else max(price, cap)
    return price


def to_tick(value: Decimal, ladder: Sequence[tuple[float, float]], up: bool) -> float:
    """``value`` on the price grid, rounded up (``up``) or down."""
    increment = _dec(ladder[0][1])
    for low_edge, tier in ladder:
        if abs(value) >= _dec(low_edge):
            increment = _dec(tier)
    steps = (value / increment).to_integral_value(rounding=ROUND_CEILING if up else ROUND_FLOOR)
    return float(steps * increment)


def _dec(value: float) -> Decimal:
    return Decimal(repr(float(value)))
