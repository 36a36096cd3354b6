"""TWS's historical data pacing, on the simulated clock.

IB's rules (tws-api historical_limitations.html, "Pacing Violations for Small Bars (30 secs or
less)"; the same three in the older API guide's historical_data_limitations.htm): a request is a
pacing violation when

* an identical request was made within the last 15 seconds;
* it is the sixth (or more) for the same contract, exchange and tick type within two seconds;
* more than 60 requests were made in the last ten minutes;

and a BID_ASK request counts twice. TWS answers the violation with 162 "Historical Market Data
Service error message:Historical data request pacing violation" (QuantConnect/Lean issues 607
and 1837, mementum/backtrader issue 110). Larger bars are not subject to these rules (the
footnote of that page, as pst-group/pysystemtrade pull request 501 relies on it): only bar
requests of 30 seconds or less are paced here. A refused request does not
count (it never reached the data service). The rules are TWS's, not a connection's: one window
for every client of the simulator.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable
from dataclasses import dataclass

IDENTICAL_SECONDS = 15.0
BURST_SECONDS = 2.0
BURST_LIMIT = 6  # the sixth within BURST_SECONDS is refused
WINDOW_SECONDS = 600.0
WINDOW_LIMIT = 60  # the sixty-first within WINDOW_SECONDS is refused
PACED_BAR_SECONDS = 30  # bars of this size or smaller are paced


@dataclass(frozen=True)
class _Made:
    at: float
    identical: Hashable
    group: Hashable
    weight: int


class HistoryPacing:
    """The requests of the last ten minutes, and whether one more may be made."""

    def __init__(self) -> None:
        self._made: deque[_Made] = deque()

    def admit(self, now: float, identical: Hashable, group: Hashable, weight: int = 1) -> bool:
        """Record the request made at ``now`` (simulated seconds) unless it breaks a rule.

        ``identical``: everything that makes two requests the same; ``group``: its contract,
        exchange and tick type; ``weight``: 2 for BID_ASK.
        """
        made = self._made
        while made and now - made[0].at >= WINDOW_SECONDS:
            made.popleft()
        recent = [r for r in made if now - r.at < IDENTICAL_SECONDS]
        if any(r.identical == identical for r in recent):
            return False
        burst = sum(r.weight for r in recent if r.group == group and now - r.at < BURST_SECONDS)
        if burst + weight >= BURST_LIMIT:
            return False
        if sum(r.weight for r in made) + weight > WINDOW_LIMIT:
            return False
        made.append(_Made(now, identical, group, weight))
        return True
