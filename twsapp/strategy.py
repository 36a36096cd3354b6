"""Strategy base class, its parameters, its context, the loader, and the thread that runs it.

A strategy runs on its own thread fed by a queue of events, so a slow or crashing strategy never
stalls the socket: an exception is logged with its traceback and that strategy is failed.

The runner calls, on that thread, ``on_start`` once, then for each event ``on_event`` followed by
the typed hook for its kind, and ``on_stop`` once at shutdown (not after a failure):

- ``on_status``: StatusChanged and its subclasses (Filled, Cancelled, Rejected);
- ``on_fill``: FillReceived;
- ``on_error``: OrderError, Rejected, ModifyRejected and Notice (a Rejected is a status change
  too: ``on_status`` runs first, then ``on_error``);
- ``on_connection``: ConnectionEvent and its subclasses (Connected, Disconnected, ...).

A strategy receives the order events (BookEvent) of its own orders only, those placed through
its Context; connection events and notices go to every strategy.

Parameters are declared as class attributes (``Param``) and checked when the run starts,
before it connects to TWS: an unknown, missing or ill-typed parameter stops it with one line.
"""

from __future__ import annotations

import difflib
import importlib
import logging
import math
import pkgutil
import queue
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar, overload

from .book.events import (
    BookEvent,
    FillReceived,
    ModifyRejected,
    OrderError,
    Rejected,
    StatusChanged,
)
from .events import ConnectionEvent, Notice
from .exceptions import OrderRefused, StrategyError

if TYPE_CHECKING:
    from ibapi.order import Order

    from .book import OrderBook, OrderRecord
    from .session import TwsApp

# ---------------------------------------------------------------------- parameters


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()  # the default of a parameter the config must set
T = TypeVar("T")

_KINDS: dict[type, str] = {
    str: "a string",
    int: "an integer",
    float: "a number",
    Decimal: "a number",
    bool: "true or false",
}


class Param(Generic[T]):
    """One parameter a strategy takes from its ``[[strategies]]`` entry; declare it as a class
    attribute, read it as ``self.<name>`` (its checked value; also in ``self.params``).

    ``kind``: str, int, float, Decimal or bool (an int is a valid float, and Decimal takes
    numbers and numeric strings); ``default``: the value when the entry leaves it out
    (REQUIRED: the entry must set it); ``help``: what it means, quoted in errors; ``check``: a
    further rule, returning what is wrong with a value or None.
    """

    def __init__(
        self,
        kind: type[T],
        default: Any = REQUIRED,
        help: str = "",
        check: Callable[[T], str | None] | None = None,
    ) -> None:
        self.kind = kind
        self.default = default
        self.help = help
        self.check = check
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> Param[T]: ...
    @overload
    def __get__(self, obj: object, owner: type | None = None) -> T: ...
    def __get__(self, obj: object, owner: type | None = None) -> Param[T] | T:
        if obj is None:
            return self
        return obj.params[self.name]  # type: ignore[attr-defined]

    def __set__(self, obj: object, value: Any) -> None:
        raise AttributeError(f"parameter {self.name} is read-only: set it in the config")

    def __repr__(self) -> str:
        return f"Param({self.kind.__name__}, {self.default!r})"


def positive(value: Any) -> str | None:
    """A ``Param.check``: the value must be greater than zero."""
    return None if value > 0 else "must be greater than 0"


class ParamError(StrategyError):
    """A parameter a strategy refuses: ``name`` is the key at fault, then problem and fix."""

    def __init__(self, name: str, problem: str, fix: str) -> None:
        self.name, self.problem, self.fix = name, problem, fix
        super().__init__(f"{name}: {problem} — {fix}")


def _convert(kind: type, value: Any) -> Any:
    """`value` as a `kind`; ValueError when it is not one (TOML's bool is no number here)."""
    if isinstance(value, bool) != (kind is bool):
        raise ValueError
    if kind is int and isinstance(value, int):
        return value
    if kind is float and isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    if kind is Decimal and isinstance(value, int | float | str | Decimal):
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            raise ValueError from None
        if number.is_finite():
            return number
    if kind in (str, bool) and isinstance(value, kind):
        return value
    raise ValueError


def _example(name: str, param: Param) -> str:
    value = param.default
    if value is REQUIRED:
        shown = f"<{_KINDS[param.kind]}>"
    elif isinstance(value, bool):
        shown = "true" if value else "false"
    elif isinstance(value, str):
        shown = f'"{value}"'
    else:
        shown = str(value)
    about = f" ({param.help})" if param.help else ""
    return f"e.g. {name} = {shown}{about}"


def _check_value(owner: str, name: str, param: Param, value: Any) -> Any:
    try:
        converted = _convert(param.kind, value)
    except ValueError:
        expected = _KINDS[param.kind]
        raise ParamError(
            name, f"expected {expected}, got {value!r} ({owner})", _example(name, param)
        ) from None
    problem = param.check(converted) if param.check is not None else None
    if problem:
        raise ParamError(name, f"{value!r} {problem} ({owner})", _example(name, param))
    return converted


def check_params(owner: str, declared: Mapping[str, Param], given: Mapping[str, Any]) -> dict:
    """`given` checked against `declared`: converted, defaults filled in. Raises ParamError
    naming the first parameter at fault (unknown ones with a "did you mean" suggestion)."""
    for name in given:
        if name not in declared:
            raise ParamError(name, f"unknown parameter of {owner}", _unknown_fix(declared, name))
    values = {}
    for name, param in declared.items():
        if name in given:
            values[name] = _check_value(owner, name, param, given[name])
        elif param.default is REQUIRED:
            raise ParamError(name, f"missing ({owner} requires it)", _example(name, param))
        else:
            values[name] = _convert(param.kind, param.default)  # checked at class creation
    return values


def _unknown_fix(declared: Mapping[str, Param], name: str) -> str:
    names = list(declared)
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    if close:
        return f"did you mean {close[0]!r}?"
    if names:
        return "its parameters are " + ", ".join(names)
    return "it takes no parameters: remove the key"


# ---------------------------------------------------------------------- context


class Context:
    """What a strategy may touch: the order API, the book, its own logger.

    Orders placed here are the strategy's own: it receives their events, and the shutdown
    waits for TWS's answer to them. Once the run closes the context (after ``on_stop``),
    every call is refused, so a strategy that hangs cannot send anything behind the summary.
    """

    def __init__(self, app: TwsApp, log: logging.Logger, name: str = "") -> None:
        self.app = app
        self.log = log
        self.name = name or log.name
        self._owned: set[tuple[int, int]] = set()
        self._cond = threading.Condition()
        self._busy = 0
        self._closed = False

    @property
    def book(self) -> OrderBook:
        return self.app.book

    def place(self, contract: Any, order: Order) -> OrderRecord:
        with self._sending():
            record = self.app.place(contract, order)
            with self._cond:
                self._owned.add(record.key)
            return record

    def modify(self, order_id: int, **changes: Any) -> OrderRecord:
        with self._sending():
            return self.app.modify(order_id, **changes)

    def cancel(self, order_id: int) -> OrderRecord:
        with self._sending():
            return self.app.cancel(order_id)

    def lookup(self, symbol: str, **kwargs: Any) -> Any:
        with self._sending():
            return self.app.contracts.lookup(symbol, **kwargs)

    def owns(self, event: BookEvent) -> bool:
        """Is the event's order one placed through this context?"""
        with self._cond:
            return event.record.key in self._owned

    def owned(self) -> set[tuple[int, int]]:
        """(client id, order id) of every order placed through this context."""
        with self._cond:
            return set(self._owned)

    def close(self, timeout: float) -> bool:
        """Refuse every call from now on; wait for calls in progress. False if one still is."""
        with self._cond:
            self._closed = True
            return self._cond.wait_for(lambda: self._busy == 0, timeout)

    @contextmanager
    def _sending(self) -> Iterator[None]:
        with self._cond:
            if self._closed:
                raise OrderRefused(f"strategy {self.name} is stopped: it can send nothing more")
            self._busy += 1
        try:
            yield
        finally:
            with self._cond:
                self._busy -= 1
                self._cond.notify_all()


# ---------------------------------------------------------------------- strategy


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
        declared: dict[str, Param] = {}
        for klass in reversed(cls.__mro__):
            declared.update((n, v) for n, v in vars(klass).items() if isinstance(v, Param))
        owner = f"{cls.__module__}.{cls.__qualname__}"
        for name, param in declared.items():
            if param.kind not in _KINDS:
                raise TypeError(
                    f"{owner}.{name}: Param kind must be str, int, float, Decimal or bool"
                )
            if name in cls._RESERVED or hasattr(Strategy, name):
                raise TypeError(f"{owner}.{name}: the name is Strategy's own; rename the Param")
            if param.default is not REQUIRED:
                _check_value(owner, name, param, param.default)
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

    def on_status(self, event: StatusChanged) -> None:
        """An order of this strategy changed status (Filled, Cancelled, Rejected are ones)."""

    def on_fill(self, event: FillReceived) -> None:
        """An execution of an order of this strategy."""

    def on_error(self, event: OrderError | Rejected | ModifyRejected | Notice) -> None:
        """An error about an order of this strategy, or a notice TWS sent to nobody in
        particular (``event.kind`` tells an error from a warning or an information)."""

    def on_connection(self, event: ConnectionEvent) -> None:
        """The link to TWS, or TWS's link to IB, changed."""

    def on_stop(self) -> None:
        """Called once when the run shuts down; orders sent from here are waited for."""


def load_strategy(module_name: str) -> type[Strategy]:
    """The module's ``STRATEGY`` attribute, or its only Strategy subclass.

    Raises StrategyError as one line (problem — fix) for a module that is missing, fails to
    import or holds no usable Strategy.
    """
    module = _import(module_name)
    found = getattr(module, "STRATEGY", None)
    if found is None:
        candidates = [
            obj
            for obj in vars(module).values()
            if isinstance(obj, type)
            and issubclass(obj, Strategy)
            and obj is not Strategy
            and obj.__module__ == module.__name__
        ]
        if len(candidates) != 1:
            names = ", ".join(c.__name__ for c in candidates)
            found_text = f"{len(candidates)} Strategy subclasses ({names})" if names else "none"
            raise StrategyError(
                f"{module_name} holds no single Strategy subclass (found {found_text}) — "
                "define one, or name it with STRATEGY = <your Strategy subclass>"
            )
        found = candidates[0]
    if not (isinstance(found, type) and issubclass(found, Strategy)):
        raise StrategyError(
            f"{module_name}.STRATEGY is {found!r}, not a Strategy subclass — "
            "set STRATEGY = <your Strategy subclass>"
        )
    return found


def _import(module_name: str) -> Any:
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if module_name == missing or module_name.startswith(missing + "."):
            raise StrategyError(
                f"no module named {module_name!r} — {_module_fix(module_name)}"
            ) from None
        raise StrategyError(
            f"importing {module_name!r} failed: it imports {missing!r}, which is not installed "
            "— install it into twsapp's Python environment"
        ) from None
    except Exception as exc:
        raise StrategyError(
            f"importing {module_name!r} failed: {type(exc).__name__}: {exc}{_where(exc)} — "
            f'fix the module (python -c "import {module_name}" shows the traceback)'
        ) from None


def _where(exc: BaseException) -> str:
    if isinstance(exc, SyntaxError):
        return ""  # its text already names the file and line
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return f" (at {tb.tb_frame.f_code.co_filename}:{tb.tb_lineno})" if tb is not None else ""


def _module_fix(module_name: str) -> str:
    """A near name in the same package, else where Python looks for modules."""
    package, _, leaf = module_name.rpartition(".")
    if package:
        try:
            siblings = [m.name for m in pkgutil.iter_modules(_package_path(package))]
        except Exception:  # the package itself is missing or broken: no suggestion
            siblings = []
        close = difflib.get_close_matches(leaf, siblings, n=1, cutoff=0.6)
        if close:
            return f"did you mean {package + '.' + close[0]!r}?"
    return "check the spelling, or add the folder that holds it to PYTHONPATH"


def _package_path(package: str) -> list[str]:
    return list(getattr(importlib.import_module(package), "__path__", []))


# ---------------------------------------------------------------------- the runner

NOT_STARTED = "not_started"
RUNNING = "running"
STOPPED = "stopped"
FAILED = "failed"

_STOP = object()

#: Typed hooks, after ``on_event``, in this order: (event kinds, hook name).
HOOKS: tuple[tuple[type | tuple[type, ...], str], ...] = (
    (StatusChanged, "on_status"),
    (FillReceived, "on_fill"),
    ((OrderError, Rejected, ModifyRejected, Notice), "on_error"),
    (ConnectionEvent, "on_connection"),
)


class StrategyRunner:
    """One strategy on its own thread, fed by a queue; see the module docstring.

    ``state``: not_started, running, stopped (``on_stop`` returned) or failed (``error`` says
    which hook raised what, or that ``on_stop`` did not return in time).
    """

    def __init__(self, name: str, module: str, strategy: Strategy) -> None:
        self.name = name
        self.module = module
        self.strategy = strategy
        self.state = NOT_STARTED
        self.error: str | None = None
        self.queue: queue.Queue[Any] = queue.Queue()
        self._accepting = False
        self._hook = "on_start"
        self._thread = threading.Thread(target=self._run, name=f"strategy-{name}", daemon=True)
        self._log = logging.getLogger(f"twsapp.strategy.{name}")

    @property
    def ctx(self) -> Context:
        return self.strategy.ctx

    @property
    def failed(self) -> bool:
        return self.state == FAILED

    def start(self) -> None:
        self.state = RUNNING
        self._accepting = True
        self._thread.start()

    def post(self, event: Any) -> None:
        """From any thread, never blocking. Events before start or after stop are dropped."""
        if self._accepting:
            self.queue.put(event)

    def request_stop(self) -> None:
        """Ask for ``on_stop`` after the events already queued; returns at once."""
        if self._accepting:
            self._accepting = False
            self.queue.put(_STOP)

    def join(self, timeout: float) -> bool:
        """Wait for the thread; a strategy still running after `timeout` is marked failed."""
        if self.state == NOT_STARTED:
            return True
        self._thread.join(max(0.0, timeout))
        if self._thread.is_alive():
            self.state = FAILED
            self.error = f"{self._hook} did not return within the {timeout:g}s allowed at stop"
            self._log.error("strategy %s: %s", self.name, self.error)
            return False
        return True

    def stop(self, timeout: float = 5.0) -> bool:
        self.request_stop()
        return self.join(timeout)

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "module": self.module, "state": self.state, "error": self.error}

    def _run(self) -> None:
        strategy = self.strategy
        try:
            strategy.on_start()
            while (event := self.queue.get()) is not _STOP:
                self._deliver(event)
            self._hook = "on_stop"
            strategy.on_stop()
            self.state = STOPPED
        except Exception as exc:
            self._accepting = False
            self.error = f"{self._hook}: {type(exc).__name__}: {exc}"
            self.state = FAILED
            self._log.exception("strategy %s failed in %s and is stopped", self.name, self._hook)

    def _deliver(self, event: Any) -> None:
        """On the strategy's thread: ctx.place has returned for every order placed so far, so
        ownership is known for every event still queued."""
        if isinstance(event, BookEvent) and not self.ctx.owns(event):
            return
        self._hook = "on_event"
        self.strategy.on_event(event)
        for kinds, hook in HOOKS:
            if isinstance(event, kinds):
                self._hook = hook
                getattr(self.strategy, hook)(event)
