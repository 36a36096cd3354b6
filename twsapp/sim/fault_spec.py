"""Faults written as text, for ``twsapp sim --fault`` and ``[sim] fault_plan``.

``KIND[:KEY=VALUE,...]``, e.g. ``drop:what=ack``, ``restart:down=5,after=placeOrder``,
``notice:code=1100,after=reqIds``, ``reject:code=103``, ``daily-restart:at=23:45,down=2``; and
the daily restart on its own as ``HH:MM[,down=SECONDS]`` (``--daily-restart``). A bad spec is
one ``SimInputError`` naming it, what is wrong and what to write, like every other simulator
setting.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from .fault_plan import (
    DailyRestart,
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
    "daily-restart": DailyRestart,
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


DAILY_FIX = "write HH:MM[,down=SECONDS] (New York time), e.g. 23:45,down=2"


def parse_daily_restart(text: object) -> DailyRestart:
    """``HH:MM[,down=SECONDS]`` as a DailyRestart; ``SimInputError`` (setting ``daily_restart``)."""
    if not isinstance(text, str):
        raise SimInputError.about("daily_restart", text, "not text", DAILY_FIX)
    at, _, rest = text.strip().partition(",")
    key, sep, value = (part.strip() for part in rest.partition("="))
    if rest and (key != "down" or not sep):
        raise SimInputError.about("daily_restart", text, f"{rest.strip()!r} is not down=SECONDS",
                                  DAILY_FIX)  # fmt: skip
    try:
        down = float(value) if rest else DailyRestart.down
    except ValueError:
        raise SimInputError.about("daily_restart", text, f"down={value!r} is not a number",
                                  DAILY_FIX) from None  # fmt: skip
    fault = DailyRestart(at=at.strip(), down=down)
    try:
        fault.check()
    except ValueError as exc:
        raise SimInputError.about("daily_restart", text, str(exc), DAILY_FIX) from None
    return fault


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
