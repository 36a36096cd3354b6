"""The order book: pure (no sockets, no threads), fed by the session's translated callbacks.

model.py holds the records, events.py what subscribers receive, order_book.py the book itself;
merge.py, fills.py, modify.py and error_policy.py how each kind of message changes a record;
frames.py the pandas views. Nothing here imports the session.
"""

from ..exceptions import BookError
from .events import (
    BookEvent,
    Cancelled,
    CommissionReceived,
    Filled,
    FillReceived,
    ModifyApplied,
    ModifyRejected,
    OrderError,
    Rejected,
    StatusChanged,
)
from .model import (
    AccountValue,
    Commission,
    ErrorEntry,
    Fill,
    LogEntry,
    Modification,
    OrderRecord,
    Position,
)
from .order_book import OrderBook
from .status import Status

__all__ = [
    "AccountValue",
    "BookError",
    "BookEvent",
    "Cancelled",
    "Commission",
    "CommissionReceived",
    "ErrorEntry",
    "Fill",
    "FillReceived",
    "Filled",
    "LogEntry",
    "Modification",
    "ModifyApplied",
    "ModifyRejected",
    "OrderBook",
    "OrderError",
    "OrderRecord",
    "Position",
    "Rejected",
    "Status",
    "StatusChanged",
]
