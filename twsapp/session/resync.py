"""What a resync must settle besides what TWS resends: pure functions over the book.

The resync (``TwsApp.resync``) asks TWS for its open and completed orders, executions,
positions and account, and the book merges the answers like any callback. Two things the book
cannot tell by itself:

- which of this app's own requests never reached TWS. TWS answers requests in order, so once
  the resync's answers are in, every placeOrder, modify and cancel sent before it has been
  processed; one still unanswered was lost with the connection (or with the last run). Only
  the intents open when the resync began are judged: one made during it is simply in flight.
- what changed. Each order the resync corrected is logged at WARNING, so a reader of the log
  sees where the book had drifted from TWS.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from ..book import OrderRecord
from ..book.status import Status

Key = tuple[int, int]

#: Executions asked for again reach back this far before the last one known: one lost in a
#: reordered batch may be older than the newest that arrived. Duplicates cost nothing.
EXECUTIONS_MARGIN = timedelta(minutes=10)
_TIME_FORMAT = "%Y%m%d %H:%M:%S"


@dataclass(frozen=True, slots=True)
class Seen:
    """What the book said about one order before the resync."""

    status: str
    filled: Decimal
    exec_ids: frozenset[str]
    commissions: int  # fills with their commission known

    @classmethod
    def of(cls, record: OrderRecord) -> Seen:
        fills = record.fills.values()
        joined = sum(1 for f in fills if f.commission is not None)
        return cls(record.status, record.filled, frozenset(record.fills), joined)


@dataclass
class OpenIntents:
    """This client's requests still unanswered when the resync began."""

    places: list[Key] = field(default_factory=list)  # never acknowledged
    modifies: dict[Key, int] = field(default_factory=dict)  # how many pending modifies
    cancels: list[Key] = field(default_factory=list)  # PendingCancel

    def __len__(self) -> int:
        return len(self.places) + sum(self.modifies.values()) + len(self.cancels)


def snapshot(records: Iterable[OrderRecord]) -> dict[Key, Seen]:
    return {record.key: Seen.of(record) for record in records}


def open_intents(
    records: Iterable[OrderRecord], client_id: int, held: Collection[Key] = ()
) -> OpenIntents:
    """Orders of ``client_id`` with a request TWS has not answered, except ``held`` ones
    (never sent: waiting for the connection)."""
    intents = OpenIntents()
    for record in records:
        if record.client_id != client_id or record.key in held:
            continue
        if record.done:  # a modify may still wait on an order TWS has since ended
            if record.pending_modifications:
                intents.modifies[record.key] = len(record.pending_modifications)
            continue
        if not record.acknowledged:
            intents.places.append(record.key)
            continue
        pending = len(record.pending_modifications)
        if pending:
            intents.modifies[record.key] = pending
        if record.status == Status.PENDING_CANCEL:
            intents.cancels.append(record.key)
    return intents


def overdue(
    records: Iterable[OrderRecord], client_id: int, since: datetime, held: Collection[Key] = ()
) -> list[OrderRecord]:
    """Orders of ``client_id`` with a request made before ``since`` that TWS has not
    answered: a placeOrder not acknowledged, a modify or a cancel still pending."""
    late = []
    for record in records:
        if record.client_id != client_id or record.key in held:
            continue
        if record.done and not record.pending_modifications:
            continue
        if not record.acknowledged and not record.done:
            asked = record.created
        elif record.pending_modifications:
            asked = record.pending_modifications[0].requested
        elif record.status == Status.PENDING_CANCEL:
            asked = record.updated
        else:
            continue
        if asked is not None and asked < since:
            late.append(record)
    return late


def corrections(before: dict[Key, Seen], records: Iterable[OrderRecord]) -> list[str]:
    """One line per order the resync changed (orders new to the book are not corrections)."""
    lines = []
    for record in records:
        old = before.get(record.key)
        if old is None:
            continue
        new = Seen.of(record)
        if new == old:
            continue
        parts = []
        if new.status != old.status:
            parts.append(f"status {old.status} -> {new.status}")
        if new.filled != old.filled:
            parts.append(f"filled {old.filled} -> {new.filled}")
        added = sorted(new.exec_ids - old.exec_ids)
        if added:
            parts.append(f"{len(added)} fill(s) added ({', '.join(added)})")
        if new.commissions != old.commissions:
            parts.append(f"commissions known for {old.commissions} -> {new.commissions} fill(s)")
        if parts:
            lines.append(f"order {record.order_id}: " + ", ".join(parts))
    return lines


def executions_since(records: Iterable[OrderRecord]) -> str:
    """reqExecutions' time filter: a little before the newest execution the book holds, in
    TWS's own format and time zone ("yyyymmdd hh:mm:ss [zone]"); "" (all of today's) when it
    holds none or cannot read the time."""
    newest: tuple[datetime, str] | None = None
    for record in records:
        for fill in record.fills.values():
            parsed = _parse(fill.time)
            if parsed is not None and (newest is None or parsed[0] > newest[0]):
                newest = parsed
    if newest is None:
        return ""
    moment, zone = newest
    text = (moment - EXECUTIONS_MARGIN).strftime(_TIME_FORMAT)
    return f"{text} {zone}" if zone else text


def _parse(text: str) -> tuple[datetime, str] | None:
    """TWS's execution time: "20231203 20:15:20 US/Eastern" or "20230224  12:04:56"."""
    parts = text.split()
    if len(parts) < 2:
        return None
    try:
        moment = datetime.strptime(f"{parts[0]} {parts[1]}", _TIME_FORMAT)
    except ValueError:
        return None
    return moment, " ".join(parts[2:])
