"""Strategy base class, its parameters, its context, the loader, and the thread that runs it.

A strategy runs on its own thread fed by a queue of events, so a slow or crashing strategy never
stalls the socket: an exception is logged with its traceback and that strategy is failed.

The runner calls, on that thread, ``on_start`` once, then for each event ``on_event`` followed by
the typed hook for its kind, and ``on_stop`` once at shutdown (not after a failure):

- ``on_bar``: BarEvent, a bar of one of its ``ctx.subscribe_bars`` streams;
- ``on_tick``: TickEvent, a quote change of one of its ``ctx.subscribe_ticks`` streams;
- ``on_status``: StatusChanged and its subclasses (Filled, Cancelled, Rejected);
- ``on_fill``: FillReceived;
- ``on_error``: OrderError, Rejected, ModifyRejected, Notice and DataError (a Rejected is a
  status change too: ``on_status`` runs first, then ``on_error``);
- ``on_connection``: ConnectionEvent and its subclasses (Connected, Disconnected, ...);

and, between events, ``on_timer(name)`` for each timer of ``ctx.schedule(every=..., name=...)``
that is due (timers.py: a late timer fires once, timers end with the strategy).

A strategy receives the order events (BookEvent) of its own orders only, those placed through
its Context, and the data events of its own streams only; connection events and notices go to
every strategy. Its Context places orders
(``place``, ``buy``, ``sell``, ``bracket``), lists its ``open_orders``, and knows its
``position`` and P&L (``pnl``, ``pnl_df``: FIFO over its own fills, twsapp/pnl.py).

Parameters are declared as class attributes (``Param``) and checked when the run starts,
before it connects to TWS: an unknown, missing or ill-typed parameter stops it with one line.
"""

from .base import Strategy
from .context import BracketRecords, Context
from .loader import load_strategy
from .params import REQUIRED, Param, ParamError, check_params, positive
from .positions import StrategyPosition
from .runner import FAILED, HOOKS, NOT_STARTED, RUNNING, STOPPED, StrategyRunner
from .timers import Scheduler

__all__ = [
    "FAILED",
    "HOOKS",
    "NOT_STARTED",
    "REQUIRED",
    "RUNNING",
    "STOPPED",
    "BracketRecords",
    "Context",
    "Param",
    "ParamError",
    "Scheduler",
    "Strategy",
    "StrategyPosition",
    "StrategyRunner",
    "check_params",
    "load_strategy",
    "positive",
]
