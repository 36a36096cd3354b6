"""Faults written as text, for ``twsapp sim --fault`` and ``[sim] fault_plan``.

``KIND[:KEY=VALUE,...]``, e.g. ``drop:what=ack``, ``restart:down=5,after=placeOrder``,
``notice:code=1100,after=reqIds``, ``reject:code=103``. A bad spec is one ``SimInputError``
naming it, what is wrong and what to write, like every other simulator setting.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from .fault_plan import (
    DelayCommission,
    DropAfter,
    Duplicate,
    Fault,
    Freeze,
    Notice,
    RefuseConnect,
    RejectOrder,
    Reorder,
    Restart,
    Timed,
    WithholdCommission,
)
from .inputs import SimInputError

KINDS: dict[str, type[Fault]] = {
    "drop": DropAfter,
    "restart": Restart,
    "freeze": Freeze,
    "notice": Notice,
    "duplicate": Duplicate,
    "reorder": Reorder,
    "delay-commission": DelayCommission,
    "withhold-commission": WithholdCommission,
    "reject": RejectOrder,
    "refuse-connect": RefuseConnect,
}
SETTING = "fault_plan"
FIX = "write KIND[:KEY=VALUE,...], KIND one of " + ", ".join(KINDS)


def parse_fault(spec: str) -> Fault:
    """One fault from its text; ``SimInputError`` (setting ``fault_plan``) if it is bad."""
    if not isinstance(spec, str):
        raise SimInputError.about(SETTING, spec, "not a fault written as text", FIX)
    kind, _, rest = spec.strip().partition(":")
    cls = KINDS.get(kind.strip())
    if cls is None:
        raise SimInputError.about(SETTING, spec, f"{kind.strip()!r} is no kind of fault", FIX)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    values: dict[str, Any] = {}
    for item in filter(None, (part.strip() for part in rest.split(","))):
        key, sep, text = (s.strip() for s in item.partition("="))
        if not sep or key not in fields:
            keys = ", ".join(fields)
            raise SimInputError.about(SETTING, spec, f"{item!r} is not KEY=VALUE", f"keys: {keys}")
        try:
            values[key] = _convert(text, fields[key].type)
        except ValueError:
            raise SimInputError.about(
                SETTING, spec, f"{key}={text!r} is not {fields[key].type}", FIX
            ) from None
    missing = [f.name for f in fields.values() if f.default is dataclasses.MISSING]
    if issubclass(cls, Timed) and "after" not in values:
        missing.append("after")  # from text, the moment must be said: nothing is connected yet
    missing = [name for name in missing if name not in values]
    if missing:
        raise SimInputError.about(SETTING, spec, f"needs {', '.join(missing)}", FIX)
    return check_fault(cls(**values), spec)


def check_fault(fault: Fault, shown: object) -> Fault:
    try:
        fault.check()
    except ValueError as exc:
        raise SimInputError.about(SETTING, shown, str(exc), FIX) from None
    return fault


def _convert(text: str, kind: object) -> object:
    """A value for a field declared ``int``, ``float``, ``bool`` or ``str`` (annotations are
    strings here, under ``from __future__ import annotations``)."""
    kind = str(kind)
    if kind == "int":
        return int(text)
    if kind == "float":
        return float(text)
    if kind == "bool":
        if text.lower() not in ("true", "false"):
            raise ValueError(text)
        return text.lower() == "true"
    if kind == "str | None" and text.lower() == "none":
        return None
    return text
