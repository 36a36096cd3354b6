"""The journal: every order intent and every TWS callback that concerns orders, in order, in
SQLite, written before it is acted on, so that a crashed run can rebuild its book.

Append-only, one row per entry with a sequence number. WAL mode with ``synchronous=NORMAL``:
a row is durable once its INSERT returned, against the process dying at any moment (kill -9);
an operating-system crash may lose the last rows, never tear one. Values are ibapi's own
objects, stored as JSON that keeps their class, Decimals and non-finite floats, so replaying a
row calls the book exactly as the live callback did. The book deduplicates, so a replay
followed by TWS's own resync converges whatever the overlap.

``":memory:"`` keeps a journal for the life of the process only (tests, or no journal wanted).
"""

from __future__ import annotations

import importlib
import json
import math
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

from .book import OrderBook

__all__ = ["CALLBACKS", "INTENTS", "Entry", "Journal", "decode", "encode"]

#: Intents: what this app asked TWS for, recorded before the message is sent.
INTENTS = ("place", "modify", "cancel")
#: Callbacks: what TWS said about orders, recorded before the book applies it.
CALLBACKS = ("openOrder", "orderStatus", "execDetails", "commissionReport", "completedOrder",
             "error")  # fmt: skip

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    args TEXT NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class Entry:
    seq: int
    at: datetime
    kind: str
    args: tuple[Any, ...]


class Journal:
    """One SQLite journal; ``record`` is thread-safe (callbacks and senders both write)."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        if self.path != ":memory:":
            mode = self._db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise sqlite3.OperationalError(f"{self.path}: cannot use WAL mode ({mode})")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def record(self, kind: str, *args: Any) -> int:
        """Append one entry; returns its sequence number once it is durable."""
        if kind not in INTENTS and kind not in CALLBACKS:
            raise ValueError(f"journal entry kind {kind!r}: use one of {INTENTS + CALLBACKS}")
        row = (datetime.now(UTC).isoformat(), kind, json.dumps(encode(list(args))))
        with self._lock:
            cursor = self._db.execute("INSERT INTO entries (at, kind, args) VALUES (?, ?, ?)", row)
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def entries(self, after: int = 0) -> Iterator[Entry]:
        """Every entry with a sequence number above ``after``, in order."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, at, kind, args FROM entries WHERE seq > ? ORDER BY seq", (after,)
            ).fetchall()
        for seq, at, kind, args in rows:
            yield Entry(seq, datetime.fromisoformat(at), kind, tuple(decode(json.loads(args))))

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM entries").fetchone()[0])

    def replay(self, book: OrderBook) -> int:
        """Rebuild ``book`` from every entry, in order; returns how many were applied."""
        count = 0
        for entry in self.entries():
            apply(book, entry)
            count += 1
        return count

    def clear(self) -> None:
        """Forget every entry (a run against a new simulated world starts from nothing)."""
        with self._lock:
            self._db.execute("DELETE FROM entries")

    def close(self) -> None:
        with self._lock:
            self._db.close()


def apply(book: OrderBook, entry: Entry) -> None:
    """One entry into the book, as the live session applied it."""
    a = entry.args
    if entry.kind == "place":
        client_id, order_id, contract, order = a
        if book.get(order_id, client_id) is None:
            book.register_pending(client_id, order_id, contract, order)
    elif entry.kind == "modify":
        client_id, order_id, changes = a
        record = book.get(order_id, client_id)
        if record is not None and not record.done:
            book.request_modify(order_id, changes, client_id)
    elif entry.kind == "cancel":
        client_id, order_id = a
        record = book.get(order_id, client_id)
        if record is not None and not record.done:
            book.request_cancel(order_id, client_id)
    elif entry.kind == "openOrder":
        book.on_open_order(*a)
    elif entry.kind == "orderStatus":
        book.on_order_status(*a)
    elif entry.kind == "execDetails":
        book.on_exec_details(*a)
    elif entry.kind == "commissionReport":
        book.on_commission(*a)
    elif entry.kind == "completedOrder":
        book.on_completed_order(*a)
    elif entry.kind == "error":
        book.on_error(*a)


# ---------------------------------------------------------------------- values as JSON


def encode(value: Any) -> Any:
    """A JSON-able form of a callback argument that ``decode`` turns back into an equal one."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"$float": repr(value)}
    if isinstance(value, Decimal):
        return {"$dec": str(value)}
    if isinstance(value, list | tuple):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {"$map": [[encode(k), encode(v)] for k, v in value.items()]}
    if isinstance(value, Enum):
        return {"$enum": _name(type(value)), "name": value.name}
    if isinstance(value, type):
        return {"$type": _name(value)}
    cls = type(value)
    if cls.__module__.startswith("ibapi."):
        fields = {k: encode(v) for k, v in vars(value).items()}
        return {"$obj": _name(cls), "fields": fields}
    raise TypeError(f"the journal cannot store a {cls.__name__}: {value!r}")


def decode(value: Any) -> Any:
    if isinstance(value, list):
        return [decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "$float" in value:
        return float(value["$float"])
    if "$dec" in value:
        return Decimal(value["$dec"])
    if "$map" in value:
        return {decode(k): decode(v) for k, v in value["$map"]}
    if "$enum" in value:
        return _class(value["$enum"])[value["name"]]
    if "$type" in value:
        return _class(value["$type"])
    cls = _class(value["$obj"])
    obj = cls.__new__(cls)
    obj.__dict__.update({k: decode(v) for k, v in value["fields"].items()})
    return obj


def _name(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def _class(name: str) -> Any:
    module, _, qualname = name.partition(":")
    if not module.startswith(("ibapi.", "ibapi")):
        raise ValueError(f"the journal only holds ibapi's classes, not {name}")
    found: Any = importlib.import_module(module)
    for part in qualname.split("."):
        found = getattr(found, part)
    return found
