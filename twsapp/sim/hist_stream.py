"""keepUpToDate: a historical bar request that goes on as the tape moves.

TWS refreshes such a request every 5 seconds from its 5-second bars (the query it sends asks
``<refresh>5 secs</refresh>``, and merges each 5-second bar into the last bar, or starts the next
one: userFRM/ibx, src/control/historical.rs), and IB's documentation (tws-api
historical_bars.html) has the most recent partial bar refreshed every five seconds, for bar sizes
of 5 seconds and up, with no end date. So here an update carries the data up to the last
5-second boundary of the clock, the boundaries real-time bars end on: the history holds the data
up to the moment of the request, the updates everything after it, nothing twice and nothing
left out.

Updates are a sampled view, like market data lines: each clock sample reports every bar that
changed since the previous one, in time order (the final state of each bar that completed in
between, then the current bar), so a clock advanced 5 seconds at a time sees every refresh and
an accelerated one bounded traffic.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

from .hist_bars import Bar, BarMaker, same_period
from .hist_pacing import HistoryPacing
from .hist_params import BarSize

REFRESH_SECONDS = 5


@dataclass
class HistStream:
    """One keepUpToDate request: what it asks, how far it was told, its current bar."""

    req_id: int
    maker: BarMaker
    size: BarSize
    format_date: int
    mark: int  # sent: the data before this simulated second
    bar: Bar | None  # the bar the last message showed

    def advance(self, now: int) -> list[Bar]:
        """The bars to send for the data since ``mark`` up to the last refresh before ``now``."""
        boundary = self.maker.slot_start(now, REFRESH_SECONDS)
        if boundary <= self.mark:
            return []
        pieces = self.maker.updates(self.size, self.mark, boundary)
        self.mark = boundary
        out: list[Bar] = []
        for piece in pieces:
            if self.bar is not None and same_period(self.size, self.bar, piece):
                self.bar = self.bar.then(piece)
            else:
                self.bar = piece
            if out and same_period(self.size, out[-1], self.bar):
                out[-1] = self.bar
            else:
                out.append(self.bar)
        return out


@dataclass
class HistoryBook:
    """The historical data state of one TWS: live requests, pacing, the days already built."""

    streams: dict[tuple[int, int], HistStream] = field(default_factory=dict)
    pacing: HistoryPacing = field(default_factory=HistoryPacing)
    days: OrderedDict = field(default_factory=OrderedDict)
