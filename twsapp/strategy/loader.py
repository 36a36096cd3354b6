"""Finding a strategy class by module name, with a one-line reason when there is none."""

from __future__ import annotations

import difflib
import importlib
import pkgutil
from typing import Any

from ..exceptions import StrategyError
from .base import Strategy


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
