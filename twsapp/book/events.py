"""What the book tells its subscribers: one event per change, with a snapshot of the record."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ErrorKind
from ..events import Event
from .model import Fill, Modification, OrderRecord


@dataclass(frozen=True, kw_only=True)
class BookEvent(Event):
    """Something changed in an order. `record` is a snapshot taken right after the change."""

    record: OrderRecord

    @property
    def order_id(self) -> int:
        return self.record.order_id

    @property
    def client_id(self) -> int:
        return self.record.client_id

    @property
    def perm_id(self) -> int | None:
        return self.record.perm_id

    def describe(self) -> str:
        r = self.record
        words = [f"order {r.order_id}", r.action, str(r.total_quantity or ""), r.symbol]
        return f"{' '.join(w for w in words if w)}: {type(self).__name__}"


@dataclass(frozen=True, kw_only=True)
class StatusChanged(BookEvent):
    before: str
    after: str
    source: str

    def describe(self) -> str:
        return f"{super().describe()} {self.before or 'new'} -> {self.after} ({self.source})"


@dataclass(frozen=True, kw_only=True)
class Filled(StatusChanged):
    """The order is completely filled (TWS said so, or its fills add up to its size)."""


@dataclass(frozen=True, kw_only=True)
class Cancelled(StatusChanged):
    code: int | None = None
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class Rejected(StatusChanged):
    code: int | None = None
    reason: str = ""

    def describe(self) -> str:
        return f"{super().describe()}: {self.code} {self.reason}"


@dataclass(frozen=True, kw_only=True)
class FillReceived(BookEvent):
    fill: Fill
    replaces: Fill | None = None  # the fill this one corrects (same execId up to the last ".")

    def describe(self) -> str:
        f = self.fill
        return f"{super().describe()} {f.side} {f.shares} @ {f.price} ({f.exec_id})"


@dataclass(frozen=True, kw_only=True)
class CommissionReceived(BookEvent):
    fill: Fill

    def describe(self) -> str:
        f = self.fill
        cost = f"{f.commission} {f.commission_currency or ''}".rstrip()
        return f"{super().describe()} {cost} for {f.exec_id}"


@dataclass(frozen=True, kw_only=True)
class ModifyApplied(BookEvent):
    modification: Modification

    def describe(self) -> str:
        return f"{super().describe()} {self.modification.describe()}"


@dataclass(frozen=True, kw_only=True)
class ModifyRejected(BookEvent):
    modification: Modification
    code: int | None = None
    reason: str = ""

    def describe(self) -> str:
        m = self.modification
        return f"{super().describe()} {m.describe()}: {self.code} {self.reason}"


@dataclass(frozen=True, kw_only=True)
class OrderError(BookEvent):
    """An error or warning for an order that did not change its status by itself."""

    code: int
    kind: ErrorKind
    text: str

    def describe(self) -> str:
        return f"{super().describe()} {self.kind} {self.code}: {self.text}"
