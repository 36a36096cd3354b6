"""twsapp: trade through the Interactive Brokers TWS API socket.

The public API: ``from twsapp import TwsApp, Strategy, limit_order, ...``. Everything named in
``__all__`` is kept stable; modules not re-exported here are internal.
"""

import logging as _logging

from .book import (
    BookEvent,
    Cancelled,
    CommissionReceived,
    Fill,
    Filled,
    FillReceived,
    ModifyApplied,
    ModifyRejected,
    OrderBook,
    OrderError,
    OrderRecord,
    Position,
    Rejected,
    Status,
    StatusChanged,
)
from .events import (
    Connected,
    ConnectionEvent,
    Disconnected,
    Event,
    EventBus,
    FarmStatus,
    Notice,
    TwsLinkLost,
    TwsLinkRestored,
)
from .exceptions import (
    BookError,
    ClientIdInUse,
    ConfigError,
    ConnectError,
    ContractError,
    ContractNotFound,
    OrderRefused,
    OrderValidationError,
    RequestError,
    RequestTimeout,
    TwsAppError,
)
from .order_types import ORDER_TYPES, OrderType
from .orders import limit_order, market_order, round_to_tick, stop_limit_order, stop_order
from .session import AmbiguousContract, TwsApp
from .strategy import Context, Strategy

__version__ = "0.1.0"

__all__ = [
    "ORDER_TYPES",
    "AmbiguousContract",
    "BookError",
    "BookEvent",
    "Cancelled",
    "ClientIdInUse",
    "CommissionReceived",
    "ConfigError",
    "ConnectError",
    "Connected",
    "ConnectionEvent",
    "Context",
    "ContractError",
    "ContractNotFound",
    "Disconnected",
    "Event",
    "EventBus",
    "FarmStatus",
    "Fill",
    "FillReceived",
    "Filled",
    "ModifyApplied",
    "ModifyRejected",
    "Notice",
    "OrderBook",
    "OrderError",
    "OrderRecord",
    "OrderRefused",
    "OrderType",
    "OrderValidationError",
    "Position",
    "Rejected",
    "RequestError",
    "RequestTimeout",
    "Status",
    "StatusChanged",
    "Strategy",
    "TwsApp",
    "TwsAppError",
    "TwsLinkLost",
    "TwsLinkRestored",
    "limit_order",
    "market_order",
    "round_to_tick",
    "stop_limit_order",
    "stop_order",
]

# A library logs, the application decides where it goes (the CLI configures handlers).
_logging.getLogger("twsapp").addHandler(_logging.NullHandler())
