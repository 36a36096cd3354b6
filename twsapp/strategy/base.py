"""The Strategy base class: its hooks and its declared parameters."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, ClassVar

from ..book.events import FillReceived, ModifyRejected, OrderError, Rejected, StatusChanged
from ..events import ConnectionEvent, Notice
from ..marketdata import BarEvent, DataError, TickEvent
from .context import Context
from .params import Param, check_params, declared_params


class Strategy:
    """Subclass and override the hooks you need; see the module docstring for when each runs.

    Parameters are class attributes: ``quantity = Param(Decimal, 10, "shares per order")``.
    ``self.quantity`` is then the checked value (``self.params`` holds them all, defaults
    filled in). ``PARAMS`` lists them, inherited ones included; a strategy without any takes
    no parameters.
    """

    PARAMS: ClassVar[Mapping[str, Param]] = MappingProxyType({})
    _RESERVED: ClassVar[frozenset[str]] = frozenset({"ctx", "params"})

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A wrong declaration fails at import, before any connection, naming the parameter."""
        super().__init_subclass__(**kwargs)
        declared = declared_params(
            cls, taken=lambda name: name in cls._RESERVED or hasattr(Strategy, name)
        )
        cls.PARAMS = MappingProxyType(declared)

    def __init__(self, ctx: Context, params: Mapping[str, Any] | None = None) -> None:
        self.ctx = ctx
        self.params: dict[str, Any] = self.check_params(params or {})

    @classmethod
    def check_params(cls, given: Mapping[str, Any]) -> dict[str, Any]:
        """The parameters of a config entry, checked against ``PARAMS`` (ParamError if wrong)."""
        return check_params(cls.__module__, cls.PARAMS, given)

    def on_start(self) -> None:
        """Called once, on the strategy's thread, after the app is connected and synced."""

    def on_event(self, event: Any) -> None:
        """Called for every event the strategy receives, before its typed hook."""

    def on_bar(self, event: BarEvent) -> None:
        """A bar of a ``ctx.subscribe_bars`` stream closed: ``event.bar`` (open, high, low,
        close, volume, wap, count; ``time`` its start, UTC), ``event.symbol``."""

    def on_tick(self, event: TickEvent) -> None:
        """The quote of a ``ctx.subscribe_ticks`` stream changed: ``event.quote`` (bid, ask,
        last, sizes, volume, open, high, low, close, mid)."""

    def on_status(self, event: StatusChanged) -> None:
        """An order of this strategy changed status (Filled, Cancelled, Rejected are ones)."""

    def on_fill(self, event: FillReceived) -> None:
        """An execution of an order of this strategy."""

    def on_error(self, event: OrderError | Rejected | ModifyRejected | Notice | DataError) -> None:
        """An error about an order of this strategy, one of its market data streams
        (``DataError``: ``message`` says what to do, ``ended`` whether the stream is over), or a
        notice TWS sent to nobody in particular (``event.kind`` tells an error from a warning
        or an information)."""

    def on_connection(self, event: ConnectionEvent) -> None:
        """The link to TWS, or TWS's link to IB, changed."""

    def on_timer(self, name: str) -> None:
        """A timer of ``ctx.schedule(every=..., name=...)`` is due (not an event: on_event does
        not see it). Late timers fire once, not once per period missed."""

    def on_stop(self) -> None:
        """Called once when the run shuts down; orders sent from here are waited for."""
