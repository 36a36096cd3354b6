"""A strategy's parameters: declared as class attributes, checked before the run connects.

An unknown, missing or ill-typed parameter stops the run with one line naming the config key
and the fix, before anything is sent.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Generic, TypeVar, overload

from ..exceptions import StrategyError


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
    try:
        problem = param.check(converted) if param.check is not None else None
    except Exception as exc:  # a check that raises says no, in its own words
        problem = f"is refused by its check: {type(exc).__name__}: {exc}"
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


def declared_params(cls: type, taken: Callable[[str], bool]) -> dict[str, Param]:
    """The Params a class declares, inherited ones included; a wrong declaration raises
    TypeError naming it (at import: before any connection). `taken`: names a Param may not use.
    """
    declared: dict[str, Param] = {}
    for klass in reversed(cls.__mro__):
        declared.update((n, v) for n, v in vars(klass).items() if isinstance(v, Param))
    owner = f"{cls.__module__}.{cls.__qualname__}"
    for name, param in declared.items():
        if param.kind not in _KINDS:
            raise TypeError(f"{owner}.{name}: Param kind must be str, int, float, Decimal or bool")
        if taken(name):
            raise TypeError(f"{owner}.{name}: the name is Strategy's own; rename the Param")
        if param.default is not REQUIRED:
            _check_value(owner, name, param, param.default)
    return declared
