"""twsapp: trade through the Interactive Brokers TWS API socket.

The public API: ``from twsapp import TwsApp, Strategy, limit_order, ...``. Everything named in
``__all__`` is kept stable; modules not re-exported here are internal.

Names load on first use (PEP 562), so that ``twsapp.sim``, a separate world, loads nothing of
the app when imported on its own (``twsapp sim``).
"""

from __future__ import annotations

import importlib as _importlib
import logging as _logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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
    from .config import RiskConfig
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
        StrategyError,
        TwsAppError,
    )
    from .marketdata import BarEvent, DataError, MarketData, TickEvent
    from .order_builders import (
        adaptive,
        limit_if_touched_order,
        limit_on_close_order,
        market_if_touched_order,
        market_on_close_order,
        midprice_order,
        oca,
        relative_order,
        trailing_stop_limit_order,
        trailing_stop_order,
        with_trigger_method,
    )
    from .order_conditions import (
        execution_condition,
        margin_condition,
        percent_change_condition,
        price_condition,
        time_condition,
        volume_condition,
        with_conditions,
    )
    from .order_types import ORDER_TYPES, OrderType
    from .orders import (
        bracket,
        check_bracket,
        limit_order,
        market_order,
        round_to_tick,
        stop_limit_order,
        stop_order,
    )
    from .quotes import Bar, Quote
    from .risk import RiskGuard, RiskRefused
    from .session import AmbiguousContract, TwsApp
    from .strategy import (
        BracketRecords,
        Context,
        Param,
        ParamError,
        Strategy,
        StrategyPosition,
        positive,
    )
    from .whatif import Margin, WhatIf

_EXPORTS = {
    "AmbiguousContract": ".session",
    "Bar": ".quotes",
    "RiskConfig": ".config",
    "RiskGuard": ".risk",
    "RiskRefused": ".risk",
    "BarEvent": ".marketdata",
    "BookError": ".exceptions",
    "BookEvent": ".book",
    "BracketRecords": ".strategy",
    "Cancelled": ".book",
    "ClientIdInUse": ".exceptions",
    "CommissionReceived": ".book",
    "ConfigError": ".exceptions",
    "ConnectError": ".exceptions",
    "Connected": ".events",
    "ConnectionEvent": ".events",
    "Context": ".strategy",
    "ContractError": ".exceptions",
    "ContractNotFound": ".exceptions",
    "DataError": ".marketdata",
    "Disconnected": ".events",
    "Event": ".events",
    "EventBus": ".events",
    "FarmStatus": ".events",
    "Fill": ".book",
    "FillReceived": ".book",
    "Filled": ".book",
    "MarketData": ".marketdata",
    "Margin": ".whatif",
    "ModifyApplied": ".book",
    "ModifyRejected": ".book",
    "Notice": ".events",
    "ORDER_TYPES": ".order_types",
    "OrderBook": ".book",
    "OrderError": ".book",
    "OrderRecord": ".book",
    "OrderRefused": ".exceptions",
    "OrderType": ".order_types",
    "OrderValidationError": ".exceptions",
    "Param": ".strategy",
    "ParamError": ".strategy",
    "Position": ".book",
    "Quote": ".quotes",
    "Rejected": ".book",
    "RequestError": ".exceptions",
    "RequestTimeout": ".exceptions",
    "Status": ".book",
    "StatusChanged": ".book",
    "Strategy": ".strategy",
    "StrategyError": ".exceptions",
    "StrategyPosition": ".strategy",
    "TickEvent": ".marketdata",
    "TwsApp": ".session",
    "TwsAppError": ".exceptions",
    "TwsLinkLost": ".events",
    "TwsLinkRestored": ".events",
    "WhatIf": ".whatif",
    "adaptive": ".order_builders",
    "bracket": ".orders",
    "check_bracket": ".orders",
    "limit_if_touched_order": ".order_builders",
    "limit_on_close_order": ".order_builders",
    "limit_order": ".orders",
    "market_if_touched_order": ".order_builders",
    "market_on_close_order": ".order_builders",
    "market_order": ".orders",
    "midprice_order": ".order_builders",
    "oca": ".order_builders",
    "positive": ".strategy",
    "relative_order": ".order_builders",
    "round_to_tick": ".orders",
    "stop_limit_order": ".orders",
    "stop_order": ".orders",
    "trailing_stop_limit_order": ".order_builders",
    "trailing_stop_order": ".order_builders",
    "with_trigger_method": ".order_builders",
    "execution_condition": ".order_conditions",
    "margin_condition": ".order_conditions",
    "percent_change_condition": ".order_conditions",
    "price_condition": ".order_conditions",
    "time_condition": ".order_conditions",
    "volume_condition": ".order_conditions",
    "with_conditions": ".order_conditions",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'twsapp' has no attribute {name!r}")
    value = getattr(_importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


__version__ = "0.1.0"

__all__ = [
    "ORDER_TYPES",
    "AmbiguousContract",
    "Bar",
    "BarEvent",
    "BookError",
    "BookEvent",
    "BracketRecords",
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
    "DataError",
    "Disconnected",
    "Event",
    "EventBus",
    "FarmStatus",
    "Fill",
    "FillReceived",
    "Filled",
    "Margin",
    "MarketData",
    "ModifyApplied",
    "ModifyRejected",
    "Notice",
    "OrderBook",
    "OrderError",
    "OrderRecord",
    "OrderRefused",
    "OrderType",
    "OrderValidationError",
    "Param",
    "ParamError",
    "Position",
    "Quote",
    "Rejected",
    "RequestError",
    "RequestTimeout",
    "RiskConfig",
    "RiskGuard",
    "RiskRefused",
    "Status",
    "StatusChanged",
    "Strategy",
    "StrategyError",
    "StrategyPosition",
    "TickEvent",
    "TwsApp",
    "TwsAppError",
    "TwsLinkLost",
    "TwsLinkRestored",
    "WhatIf",
    "adaptive",
    "bracket",
    "check_bracket",
    "execution_condition",
    "limit_if_touched_order",
    "limit_on_close_order",
    "limit_order",
    "margin_condition",
    "market_if_touched_order",
    "market_on_close_order",
    "market_order",
    "midprice_order",
    "oca",
    "percent_change_condition",
    "positive",
    "price_condition",
    "relative_order",
    "round_to_tick",
    "stop_limit_order",
    "stop_order",
    "time_condition",
    "trailing_stop_limit_order",
    "trailing_stop_order",
    "volume_condition",
    "with_conditions",
    "with_trigger_method",
]

# A library logs, the application decides where it goes (the CLI configures handlers).
_logging.getLogger("twsapp").addHandler(_logging.NullHandler())
