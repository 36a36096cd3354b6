"""What ibapi's own decoder makes of the simulator's messages: a wrapper that records every
callback it gets, and a field list that counts what the decoder read (none may be left)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from ibapi.wrapper import EWrapper

from twsapp.session import fields


class Recorder(EWrapper):
    """Records ``(callback name, args)``; ``recording`` makes one for a set of callbacks."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, tuple]] = []


def _recording(name: str):
    def method(self: Recorder, *args: object) -> None:
        self.calls.append((name, args))

    return method


def recording(names: Iterable[str]) -> type[Recorder]:
    """A Recorder class that records the callbacks `names`."""
    return type("Recorder", (Recorder,), {name: _recording(name) for name in names})


class CountingFields(tuple):
    """Counts what the decoder iterates: every field read, none left over."""

    consumed: int | None = None

    def __iter__(self):
        self.consumed = 0
        return self._counting(super().__iter__())

    def _counting(self, items):
        for item in items:
            self.consumed += 1
            yield item


def plain(value):
    """ibapi's bars and ticks have no __eq__: compare their attributes."""
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if hasattr(value, "__dict__"):
        return {k: plain(v) for k, v in vars(value).items()}
    return value


@contextmanager
def swapped(fast: bool) -> Iterator[None]:
    """ibapi with twsapp's field functions (fast) or its own, whatever was in place before."""
    saved = [(module, name, getattr(module, name)) for module, name, _, _ in fields._SWAPS]
    for module, name, theirs, ours in fields._SWAPS:
        setattr(module, name, ours if fast else theirs)
    try:
        yield
    finally:
        for module, name, before in saved:
            setattr(module, name, before)
