"""The one error for input the simulator cannot use: a setting, a bars CSV, an instruments file.

Whoever starts the simulator (``twsapp sim``, the app embedding it, a test) catches this one
class and shows its message as it is: one line naming the input (the file and its row or key,
or the setting), what is wrong with it and how to fix it. It is raised before anything listens,
so a refused start leaves nothing behind.
"""

from __future__ import annotations

from decimal import Decimal


class SimInputError(ValueError):
    """Bad simulator input; ``str(error)`` is a single line with the input, problem and fix.

    ``setting`` names the ``SimSettings`` field at fault (None for files), so a front end that
    spells its options differently (``--display-size``) can say ``named("--display-size")``.
    """

    def __init__(self, message: str, *, setting: str | None = None, detail: str = "") -> None:
        super().__init__(one_line(message))
        self.setting = setting
        self._detail = one_line(detail)

    @classmethod
    def about(cls, name: str, value: object, problem: str, fix: str) -> SimInputError:
        """An error about one named value: ``name value: problem — fix``."""
        detail = f"{show(value)}: {problem} — {fix}"
        return cls(f"{name} {detail}", setting=name, detail=detail)

    def named(self, label: str) -> str:
        """The message with the setting called ``label`` (a CLI option, a config key)."""
        return f"{label} {self._detail}" if self._detail else str(self)


def show(value: object) -> str:
    """A value as the user wrote it: strings quoted (so "" and " " are visible), numbers bare."""
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, Decimal):
        return format(value, "f") if value.is_finite() else str(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(show(v) for v in value) + "]"
    return str(value)


def one_line(text: str) -> str:
    """Newlines (in a file name, a quoted cell) would break the one-line promise: escape them."""
    return text.replace("\r", "\\r").replace("\n", "\\n")
