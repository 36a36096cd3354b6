"""Faults armed on purpose: what real TWS does to a client over weeks, on cue, for tests.

A ``FaultPlan`` is a short list of faults, each with its trigger, held by the server. Each one
fires once unless given ``times`` (0 = every time), so a test knows exactly what went wrong and
when. The only randomness (``Reorder``) comes from the server's seed. Every fault shows itself
the way TWS does: a socket that closes, a port that refuses, silence, a repeated or late
callback, an error message with TWS's own code and text.

The session calls ``before`` / ``after`` around each request it handles, ``outgoing`` on each
batch it queues (under the exchange lock), ``connect`` at startApi; the server calls
``on_clock`` after each time step (where ``DailyRestart`` watches the simulated time of day).
Decisions are taken under the plan's own lock and acted on outside it, so the plan never holds
its lock while waiting for the exchange's.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import Enum
from typing import Protocol

from . import messages as m
from . import rules
from .calendar import CalendarRangeError
from .clock import NEW_YORK, is_us_trading_day

log = logging.getLogger("twsapp.sim")

# TWS's connectivity notices, as TWS logs them (IbcAlpha/IBC issues 143 and 251 quote 1100 and
# 1102 from TWS's API log; 1101 has the same stem; 2103 / 2104 name the farm after a colon).
NOTICES = {
    1100: "Connectivity between IB and Trader Workstation has been lost.",
    1101: "Connectivity between IB and Trader Workstation has been restored - data lost.",
    1102: "Connectivity between IB and Trader Workstation has been restored - data maintained. "
    "All data farms are connected: usfarm; ushmds; secdefnj.",
    2103: "Market data farm connection is broken:usfarm",
    2104: "Market data farm connection is OK:usfarm",
}
REJECT_REASON = "The order was rejected by the simulator's fault plan."
DROP_MOMENTS = ("placeOrder", "ack", "execDetails")
ORDER_EVENTS = (m.OpenOrder, m.OrderStatus, m.ExecDetails)


def camel(name: str) -> str:
    """A message or request class name as ibapi spells the call: ``OrderStatus`` -> ``orderStatus``."""
    return name[:1].lower() + name[1:]


REQUESTS = frozenset(camel(c.__name__) for c in m.Request.__subclasses__())
CALLBACKS = frozenset(camel(c.__name__) for c in m.Message.__subclasses__())
# ibapi's callback names where they differ from the message's
CALLBACK_ALIASES = {"commissionAndFeesReport": "commissionReport", "error": "errorMsg"}


class Fault:
    """Base of every fault: ``times`` is how often it fires (0 = every time)."""

    times: int

    def check(self) -> None:
        """Raise ValueError (one line: what is wrong and what to write) for a bad field."""
        if not isinstance(self.times, int) or isinstance(self.times, bool) or self.times < 0:
            raise ValueError(f"times={self.times!r} is not a count >= 0 (0 = every time)")


class Timed(Fault):
    """A fault that fires when asked (``after=None``) or right after a request is handled."""

    after: str | None

    def check(self) -> None:
        super().check()
        if self.after is not None and self.after not in REQUESTS:
            raise ValueError(f"after={self.after!r} names no request; use e.g. placeOrder, reqIds")


@dataclass(frozen=True)
class DropAfter(Fault):
    """Close the socket at a moment of an order's life, as a dying link or TWS does.

    ``placeOrder``: as soon as one arrives, before any answer; with ``reached`` TWS still got
    it (the order lives on), without, it is lost with the link. ``ack``: right after the order's
    first orderStatus. ``execDetails``: in a fill, after the execution, before its commission.
    """

    what: str
    reached: bool = True
    times: int = 1

    def check(self) -> None:
        super().check()
        if self.what not in DROP_MOMENTS:
            raise ValueError(f"{self.what!r} is not a moment; use one of {', '.join(DROP_MOMENTS)}")


@dataclass(frozen=True)
class Restart(Timed):
    """TWS's restart: every connection closed, the port refusing for ``down`` seconds (real
    time), then listening again with every order, execution and id kept."""

    down: float = 1.0
    after: str | None = None
    times: int = 1

    def check(self) -> None:
        super().check()
        if not isinstance(self.down, int | float) or not 0 <= self.down <= 3600:
            raise ValueError(f"down={self.down!r} is not 0..3600 seconds")


@dataclass(frozen=True)
class DailyRestart(Fault):
    """TWS's nightly restart, on the simulated clock: a ``Restart(down)`` at ``at`` (HH:MM, New
    York time) of every US trading day, so a long run meets it without anyone arming it.

    ``times`` counts restarts (0 = every day). Time that jumps over several restart moments at
    once (a manual ``advance``) restarts once, as a TWS that was off all along would.
    """

    at: str = "23:45"
    down: float = 2.0
    times: int = 0

    def check(self) -> None:
        super().check()
        restart_time(self.at)
        Restart(down=self.down).check()

    def next_after(self, moment: datetime) -> datetime:
        """The first restart moment strictly after ``moment``."""
        at = restart_time(self.at)
        day = moment.astimezone(NEW_YORK).date()
        while True:  # a trading day is never more than a few days away
            when = datetime.combine(day, at, tzinfo=NEW_YORK)
            if when > moment and _trading(day):
                return when
            day += timedelta(days=1)


def restart_time(text: str) -> time:
    """``HH:MM`` as a time of day; ValueError (one line) otherwise."""
    hours, sep, minutes = text.partition(":") if isinstance(text, str) else ("", "", "")
    digits = bool(sep) and len(minutes) == 2 and hours.isdigit() and minutes.isdigit()
    if digits and int(hours) < 24 and int(minutes) < 60:
        return time(int(hours), int(minutes))
    raise ValueError(f"at={text!r} is not a time of day HH:MM")


def _trading(day: date) -> bool:
    """A US trading day; past the simulator's calendar, any weekday (a soak may run long)."""
    try:
        return is_us_trading_day(day)
    except CalendarRangeError:
        return day.weekday() < 5


@dataclass(frozen=True)
class Freeze(Timed):
    """A hung TWS: nothing read, nothing written for ``seconds`` (real time), then all that
    queued up is handled and sent."""

    seconds: float = 1.0
    after: str | None = None
    times: int = 1

    def check(self) -> None:
        super().check()
        if not isinstance(self.seconds, int | float) or not 0 < self.seconds <= 3600:
            raise ValueError(f"seconds={self.seconds!r} is not 0..3600 seconds")


@dataclass(frozen=True)
class Notice(Timed):
    """One of TWS's connectivity messages (1100, 1101, 1102, 2103, 2104) to every client."""

    code: int = 1100
    after: str | None = None
    times: int = 1

    def check(self) -> None:
        super().check()
        if self.code not in NOTICES:
            raise ValueError(f"code={self.code!r} is not one of {', '.join(map(str, NOTICES))}")


@dataclass(frozen=True)
class Duplicate(Fault):
    """Send the next ``callback`` (ibapi's name: orderStatus, execDetails, ...) twice."""

    callback: str
    times: int = 1

    def check(self) -> None:
        super().check()
        if CALLBACK_ALIASES.get(self.callback, self.callback) not in CALLBACKS:
            raise ValueError(f"{self.callback!r} is no callback; use e.g. orderStatus, execDetails")


@dataclass(frozen=True)
class Reorder(Fault):
    """Permute openOrder / orderStatus / execDetails within the next batch holding two kinds."""

    times: int = 1


@dataclass(frozen=True)
class DelayCommission(Fault):
    """Hold the next commission report back for ``seconds`` of simulated time."""

    seconds: float = 60.0
    times: int = 1

    def check(self) -> None:
        super().check()
        if not isinstance(self.seconds, int | float) or not self.seconds > 0:
            raise ValueError(f"seconds={self.seconds!r} is not a number of seconds > 0")


@dataclass(frozen=True)
class WithholdCommission(Fault):
    """Never send the next commission report (reqExecutions still gives it)."""

    times: int = 1


@dataclass(frozen=True)
class RejectOrder(Fault):
    """Answer the next placeOrder with 103 (duplicate id) or 201 (rejected), creating nothing."""

    code: int = 201
    reason: str = REJECT_REASON
    times: int = 1

    def check(self) -> None:
        super().check()
        if self.code not in (rules.DUPLICATE_ID, rules.REJECTED):
            raise ValueError(f"code={self.code!r} is not 103 or 201")


@dataclass(frozen=True)
class RefuseConnect(Fault):
    """Answer the next startApi with 326 (client id in use) and hang up."""

    times: int = 1


class Verdict(Enum):
    """What the session does with a request, as ``before`` decides."""

    HANDLE = "handle"
    ANSWERED = "answered"  # the plan answered it (103 / 201): do not hand it to the exchange
    DROP = "drop"  # close the socket, then hand it to the exchange (its answers go nowhere)
    LOSE = "lose"  # close the socket; the exchange never sees it


class Session(Protocol):
    """What the plan needs of a connection (``server.Session``)."""

    @property
    def attached(self) -> bool: ...
    def send_now(self, msg: m.Message) -> None: ...


class Server(Protocol):
    """What the plan needs of the server (``SimServer``)."""

    def sessions(self) -> Sequence[Session]: ...
    def restart(self, down: float) -> None: ...


class FaultPlan:
    """The armed faults of one server, and the runtime state a fault needs while it plays."""

    def __init__(self, server: Server, seed: int, now: Callable[[], datetime]) -> None:
        self._server = server
        self._now = now
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._armed: list[tuple[Fault, list[int]]] = []  # fault, [fires left] (0 = no limit)
        self._ack_cut: dict[int, int] = {}  # id(session) -> order id whose ack ends it
        self._held: list[tuple[datetime, Session, m.Message]] = []
        self._thawed = threading.Event()
        self._thawed.set()
        self._daily: tuple[DailyRestart, list[int]] | None = None
        self._next_restart: datetime | None = None
        self._restarting: threading.Thread | None = None
        self.daily_restarts = 0  # how many times DailyRestart has fired

    # ------------------------------------------------------------------ arming

    def arm(self, *faults: Fault) -> FaultPlan:
        """Arm faults; a timed one without ``after`` fires at once."""
        for fault in faults:
            fault.check()
            if isinstance(fault, Timed) and fault.after is None:
                self._fire(fault)
                continue
            if isinstance(fault, DailyRestart):  # one schedule: arming again replaces it
                with self._lock:
                    self._daily = (fault, [fault.times])
                    self._next_restart = fault.next_after(self._now())
                continue
            with self._lock:
                self._armed.append((fault, [fault.times]))
        return self

    def armed(self) -> list[Fault]:
        with self._lock:
            daily = [self._daily[0]] if self._daily else []
            return [fault for fault, _ in self._armed] + daily

    def clear(self) -> None:
        with self._lock:
            self._armed.clear()
            self._daily = None
            self._next_restart = None

    @property
    def next_restart(self) -> datetime | None:
        """When ``DailyRestart`` fires next (simulated time), None if it is not armed."""
        with self._lock:
            return self._next_restart

    def _take(self, match: Callable[[Fault], bool]) -> Fault | None:
        """The first armed fault ``match`` accepts, counted as fired. Call with the lock held."""
        for entry in self._armed:
            fault, left = entry
            if match(fault):
                if left[0] == 1:
                    self._armed.remove(entry)
                elif left[0] > 1:
                    left[0] -= 1
                return fault
        return None

    # ------------------------------------------------------------------ hooks

    def before(self, session: Session, request: m.Request) -> Verdict:
        with self._lock:
            if not isinstance(request, m.PlaceOrder):
                return Verdict.HANDLE
            reject = self._take(lambda f: isinstance(f, RejectOrder))
            drop = None if reject else self._take(_drop_at("placeOrder", "ack"))
            if isinstance(drop, DropAfter) and drop.what == "ack":
                self._ack_cut[id(session)] = request.order_id
        if isinstance(reject, RejectOrder):
            text = rules.text(rules.DUPLICATE_ID)
            if reject.code == rules.REJECTED:
                text = rules.text(rules.REJECTED, reason=reject.reason)
            session.send_now(m.ErrorMsg(request.order_id, reject.code, text, "", self._millis()))
            return Verdict.ANSWERED
        if isinstance(drop, DropAfter) and drop.what == "placeOrder":
            return Verdict.DROP if drop.reached else Verdict.LOSE
        return Verdict.HANDLE

    def after(self, request: m.Request) -> None:
        name = camel(type(request).__name__)
        with self._lock:
            fault = self._take(lambda f: isinstance(f, Timed) and f.after == name)
        if fault is not None:
            self._fire(fault)

    def connect(self) -> bool:
        """False to refuse this startApi with 326."""
        with self._lock:
            return self._take(lambda f: isinstance(f, RefuseConnect)) is None

    def outgoing(self, session: Session, batch: list[m.Message]) -> tuple[list[m.Message], bool]:
        """The batch as this session sends it, and whether the socket closes after it."""
        if not self._armed and not self._ack_cut:  # the usual case: no lock on the hot path
            return batch, False
        with self._lock:
            out, cut = self._cut(session, batch)
            out = self._duplicate(out)
            kinds = {type(msg) for msg in out if isinstance(msg, ORDER_EVENTS)}
            if len(kinds) > 1 and self._take(lambda f: isinstance(f, Reorder)):
                out = self._reorder(out)
            out = self._commissions(session, out)
        return out, cut

    def on_clock(self) -> None:
        """Send the held commission reports that are due; restart if the day's time has come."""
        if self._next_restart is not None:
            self._daily_restart()
        if not self._held:
            return
        now = self._now()
        with self._lock:
            due = [h for h in self._held if h[0] <= now]
            self._held = [h for h in self._held if h[0] > now]
        for _, session, msg in due:
            session.send_now(msg)

    def wait_thawed(self) -> None:
        self._thawed.wait()

    def thaw(self) -> None:
        self._thawed.set()

    def _daily_restart(self) -> None:
        now = self._now()
        with self._lock:
            if self._daily is None or self._next_restart is None or now < self._next_restart:
                return
            fault, left = self._daily
            due = self._next_restart
            self._next_restart = fault.next_after(now)
            if left[0] == 1:
                self._daily, self._next_restart = None, None
            elif left[0] > 1:
                left[0] -= 1
            busy = self._restarting is not None and self._restarting.is_alive()
            if not busy:
                self.daily_restarts += 1
        if busy:  # still down from the last one: the clock runs faster than the port comes back
            log.warning("daily restart due at %s skipped: the last restart is not over", due)
            return
        log.info("daily restart due at %s (simulated %s)", due, now.isoformat(timespec="seconds"))
        self._restarting = self._fire(Restart(down=fault.down))

    # ------------------------------------------------------------------ the faults at work

    def _fire(self, fault: Fault) -> threading.Thread | None:
        if isinstance(fault, Restart):
            thread = threading.Thread(
                target=self._server.restart, args=(fault.down,), name="sim-restart", daemon=True
            )
            thread.start()
            return thread
        if isinstance(fault, Freeze):
            self._thawed.clear()
            timer = threading.Timer(fault.seconds, self._thawed.set)
            timer.daemon = True
            timer.start()
        elif isinstance(fault, Notice):
            for session in self._server.sessions():
                if session.attached:
                    error = m.ErrorMsg(-1, fault.code, NOTICES[fault.code], "", self._millis())
                    session.send_now(error)
        return None

    def _millis(self) -> int:
        return int(self._now().timestamp() * 1000)

    def _cut(self, session: Session, batch: list[m.Message]) -> tuple[list[m.Message], bool]:
        order_id = self._ack_cut.get(id(session))
        for i, msg in enumerate(batch):
            if isinstance(msg, m.OrderStatus) and msg.order_id == order_id:
                del self._ack_cut[id(session)]
                return batch[: i + 1], True
        if any(isinstance(msg, m.ExecDetails) for msg in batch):
            for i, msg in enumerate(batch):
                if isinstance(msg, m.CommissionReport):
                    if self._take(_drop_at("execDetails")):
                        return batch[:i], True
                    break
        return batch, False

    def _duplicate(self, batch: list[m.Message]) -> list[m.Message]:
        out: list[m.Message] = []
        for msg in batch:
            out.append(msg)
            if self._take(_duplicates(camel(type(msg).__name__))):
                out.append(msg)
        return out

    def _reorder(self, batch: list[m.Message]) -> list[m.Message]:
        """Seeded shuffle of the order events among their places; never the original order."""
        slots = [i for i, msg in enumerate(batch) if isinstance(msg, ORDER_EVENTS)]
        events = [batch[i] for i in slots]
        kinds = [type(msg) for msg in events]
        moved = list(events)
        for _ in range(8):
            self._rng.shuffle(moved)
            if [type(msg) for msg in moved] != kinds:
                break
        else:
            moved = events[::-1]
        out = list(batch)
        for i, msg in zip(slots, moved, strict=True):
            out[i] = msg
        return out

    def _commissions(self, session: Session, batch: list[m.Message]) -> list[m.Message]:
        out: list[m.Message] = []
        for msg in batch:
            if isinstance(msg, m.CommissionReport):
                fault = self._take(lambda f: isinstance(f, DelayCommission | WithholdCommission))
                if isinstance(fault, DelayCommission):
                    self._held.append(
                        (self._now() + timedelta(seconds=fault.seconds), session, msg)
                    )
                    continue
                if fault is not None:
                    continue
            out.append(msg)
        return out


def _drop_at(*moments: str) -> Callable[[Fault], bool]:
    return lambda f: isinstance(f, DropAfter) and f.what in moments


def _duplicates(name: str) -> Callable[[Fault], bool]:
    return lambda f: (
        isinstance(f, Duplicate) and CALLBACK_ALIASES.get(f.callback, f.callback) == name
    )
