"""Profit and loss streams: reqPnL (an account) and reqPnLSingle (one position of an account).

A mixin of ``Exchange``. Every figure is derived from the simulator's own fills, commissions and
the tape's prices, so it agrees with what reqAccountUpdates reports for the same moment:

* unrealized: the position at its mark (``Portfolio._mark``) less its average cost, which holds
  the commissions paid to open it, exactly as ``updatePortfolio`` reports it;
* realized: what the fills of the current P&L day realized (the commission reports' realizedPNL;
  the simulator's updatePortfolio keeps summing across days, so the two agree within a day);
* daily: for what was held when the day began, mark less the previous session's close; for what
  was traded since, mark less the fill price; less the day's commissions;
* value (single position only): quantity times mark times multiplier.

The P&L day of an instrument begins when its trading session opens (so a stock's day turns at
04:00 New York, a CME future's at the evening reopen) and lasts until the next one opens; the
previous close is the last price of the previous regular session, the CLOSE market data shows.

Cadence: a subscription's first values go out with the request; after that, like a market data
line, each clock sample sends the values that changed since its client last heard, so a manual
clock advanced one second at a time sees at most one update per second, and none while nothing
moves.

What TWS does, and where that is known from:

* Values TWS has not computed travel as Double.MAX_VALUE (IB's API documentation, "Profit And
  Loss", interactivebrokers.github.io/tws-api/pnl.html, as cited in erdewit/ib_insync issue 462).
  A position not traded in the current session has its pnlSingle realizedPnL so marked, while the
  account's pnl carries a number (ib_insync issues 462 and 388).
* The figures are those of TWS's portfolio window, reset on a per-instrument schedule by default
  (the same IB page).
* An account code the login does not manage is refused with 321 "Error validating request.-'cq'
  : cause - Invalid account code" (deephaven-examples/deephaven-ib issues 50 and 54: reqPnL for
  "All" on a login that is not an advisor's; fixed in its pull request 55 by asking for "All"
  only on advisor logins). IB's page says advisors may ask for "All": here, on a login with
  several accounts, that is the sum of its accounts.
* Updates come about once a second; for a contract the account neither holds nor traded in the
  current day, no pnlSingle is sent at all (no error either), and a position closed during the
  day reports position 0 with its P&L (aiordanescu/ib-gateway-mcp,
  src/ib_gateway_mcp/services/account.py, which relies on both).

Chosen where no source was found: a second request with a reqId already streaming is refused
with 322 "Duplicate ticker id", as the simulator's other streams refuse it, and the first stream
goes on; a cancel of an id that is not streaming (or of the other kind) is ignored silently; an
empty account code is an unknown one; the simulator has no advisor models, so a non-empty model
code is refused with 321 (tag 'cq', "Invalid model code"); a day P&L that would need a previous
close the tape does not have is sent unset.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from decimal import Decimal

from . import messages as m
from . import rules
from .accounts import Account
from .records import Fill, PnLStream
from .rules import Refusal, refuse
from .state import ExchangeState
from .tape import DayStats
from .wire import UNSET_DOUBLE, is_set

ALL_ACCOUNTS = "All"
INVALID_ACCOUNT = "Invalid account code"
INVALID_MODEL = "Invalid model code"


@dataclass(frozen=True)
class Figures:
    """One position's P&L now; ``realized`` None when it was not traded in the current day."""

    position: Decimal
    daily: float
    unrealized: float
    realized: float | None
    value: float


class PnLFeed(ExchangeState):
    """Mixin of ``Exchange``: uses its accounts, fills, tape, marks and ``_emit``."""

    # ------------------------------------------------------------------ requests

    def _on_ReqPnL(self, client_id: int, req: m.ReqPnL) -> None:
        self._subscribe_pnl(client_id, PnLStream(req.req_id, req.account), req.model_code)

    def _on_ReqPnLSingle(self, client_id: int, req: m.ReqPnLSingle) -> None:
        stream = PnLStream(req.req_id, req.account, req.con_id)
        self._subscribe_pnl(client_id, stream, req.model_code)

    def _on_CancelPnL(self, client_id: int, req: m.CancelPnL) -> None:
        self._cancel_pnl(client_id, req.req_id, single=False)

    def _on_CancelPnLSingle(self, client_id: int, req: m.CancelPnLSingle) -> None:
        self._cancel_pnl(client_id, req.req_id, single=True)

    def _subscribe_pnl(self, client_id: int, stream: PnLStream, model_code: str) -> None:
        key = (client_id, stream.req_id)
        try:
            if key in self._pnl_streams:
                raise refuse(rules.DUPLICATE_TICKER)
            self._pnl_accounts(stream.account)
            if model_code:
                raise refuse(rules.VALIDATION, tag="cq", cause=INVALID_MODEL)
        except Refusal as refusal:
            self._error(client_id, stream.req_id, refusal)
            return
        self._pnl_streams[key] = stream
        self._emit(client_id, self._pnl_update(stream, {}))

    def _cancel_pnl(self, client_id: int, req_id: int, single: bool) -> None:
        stream = self._pnl_streams.get((client_id, req_id))
        if stream is not None and (stream.con_id is not None) == single:
            del self._pnl_streams[(client_id, req_id)]

    def _forget_pnl(self, client_id: int) -> None:
        """A client that hangs up loses its P&L subscriptions, as its market data."""
        for key in [k for k in self._pnl_streams if k[0] == client_id]:
            del self._pnl_streams[key]

    # ------------------------------------------------------------------ the clock

    def _sample_pnl(self) -> None:
        """Each subscription's values, sent when they differ from what its client last heard."""
        days: dict[int, DayStats] = {}  # streams on one instrument share its day
        batches: dict[int, list[m.Message]] = {}
        for (client_id, _), stream in sorted(self._pnl_streams.items()):
            batches.setdefault(client_id, []).extend(self._pnl_update(stream, days))
        for client_id, batch in batches.items():
            self._emit(client_id, batch)

    def _pnl_update(self, stream: PnLStream, days: dict[int, DayStats]) -> list[m.Message]:
        accounts = self._pnl_accounts(stream.account)
        msg: m.Message | None
        if stream.con_id is None:
            msg = _account_pnl(stream.req_id, self._all_figures(accounts, days))
        else:
            held = [self._figures(a, stream.con_id, days) for a in accounts]
            msg = _position_pnl(stream.req_id, [f for f in held if f is not None])
        if msg is None or msg == stream.shown:
            return []
        stream.shown = msg
        return [msg]

    # ------------------------------------------------------------------ figures

    def _pnl_accounts(self, account: str) -> list[Account]:
        """The accounts a request covers: one, or every one for "All" on an advisor login."""
        if account == ALL_ACCOUNTS and len(self.accounts) > 1:
            return list(self.accounts.values())
        found = self.accounts.get(account)
        if found is None:
            raise refuse(rules.VALIDATION, tag="cq", cause=INVALID_ACCOUNT)
        return [found]

    def _all_figures(self, accounts: list[Account], days: dict[int, DayStats]) -> list[Figures]:
        every = [self._figures(a, con_id, days) for a in accounts for con_id in a.holdings]
        return [f for f in every if f is not None]

    def _figures(self, account: Account, con_id: int, days: dict[int, DayStats]) -> Figures | None:
        """``account``'s P&L in ``con_id`` now; None when it neither holds it nor traded it in
        the current P&L day (TWS then says nothing)."""
        holding = account.holdings.get(con_id)
        if holding is None:
            return None
        day = days.get(con_id)
        if day is None:
            day = days[con_id] = self.tape.day(con_id, self._step)
        today = [
            f
            for f in self._fills_since(day.session.start)
            if f.contract.conId == con_id
            and f.execution.acctNumber == account.account_id
            and not f.block  # an advisor's block execution: its accounts' fills hold it
        ]
        if holding.quantity == 0 and not today:
            return None
        mark = self._mark(con_id)
        mult = holding.multiplier
        # Worth now, less worth at the previous close, less the day's cash out: written so that
        # a flat position's figure does not wobble with the mark in its last bits.
        traded = Decimal(0)
        paid = fees = 0.0
        for fill in today:
            execution = fill.execution
            signed = execution.shares if execution.side == "BOT" else -execution.shares
            traded += signed
            paid += float(signed) * execution.price
            fees += fill.report.commissionAndFees
        held_overnight = holding.quantity - traded
        daily = mult * (float(holding.quantity) * mark - paid) - fees
        if held_overnight:
            if day.prev_close is None:
                daily = UNSET_DOUBLE
            else:
                daily -= mult * float(held_overnight) * day.prev_close
        realized = None
        if today:
            realized = sum(
                (f.report.realizedPNL for f in today if is_set(f.report.realizedPNL)), 0.0
            )
        return Figures(
            position=holding.quantity,
            daily=daily,
            unrealized=account.unrealized(holding, mark),
            realized=realized,
            value=account.market_value(holding, mark),
        )

    def _fills_since(self, step: int) -> list[Fill]:
        """The fills booked at ``step`` or later (``fills`` is in booking order)."""
        return self.fills[bisect.bisect_left(self.fills, step, key=lambda f: f.step) :]


def _total(values: list[float]) -> float:
    """A sum of values any of which may be unset: then so is the sum."""
    if any(not is_set(v) for v in values):
        return UNSET_DOUBLE
    return sum(values, 0.0)


def _account_pnl(req_id: int, figures: list[Figures]) -> m.PnL:
    """An account's pnl: zeros when it holds and traded nothing (TWS still reports it)."""
    realized = sum((f.realized for f in figures if f.realized is not None), 0.0)
    return m.PnL(
        req_id,
        _total([f.daily for f in figures]),
        sum((f.unrealized for f in figures), 0.0),
        realized,
    )


def _position_pnl(req_id: int, figures: list[Figures]) -> m.PnLSingle | None:
    if not figures:
        return None
    realized = [f.realized for f in figures if f.realized is not None]
    return m.PnLSingle(
        req_id,
        sum((f.position for f in figures), Decimal(0)),
        _total([f.daily for f in figures]),
        sum((f.unrealized for f in figures), 0.0),
        sum(realized, 0.0) if realized else UNSET_DOUBLE,
        sum((f.value for f in figures), 0.0),
    )
