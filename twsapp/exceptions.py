"""Every exception twsapp raises, under one base: ``except TwsAppError`` catches them all.

Each also derives from the built-in its callers would expect (ValueError for a refused value,
ConnectionError, TimeoutError, LookupError), so existing ``except`` clauses keep working.
"""

from __future__ import annotations


class TwsAppError(Exception):
    """Base of every twsapp exception."""


class ConfigError(TwsAppError, ValueError):
    """A config problem, as one line: ``<dotted.key>: <problem> — <fix>``."""

    def __init__(self, key: str, problem: str, fix: str = "") -> None:
        self.key = key
        message = f"{key}: {problem}" + (f" — {fix}" if fix else "")
        super().__init__(" ".join(message.splitlines()))


class ConnectError(TwsAppError, ConnectionError):
    """The app could not get a ready API session."""


class ClientIdInUse(ConnectError):
    """TWS error 326: another API client is connected with this client id."""


class OrderRefused(TwsAppError, ValueError):
    """A request refused before anything was sent.

    ``field`` names the ibapi Order attribute (or the argument) at fault, "" when the refusal
    is about the state of things (not connected, unknown order); ``reason`` is the message.
    """

    def __init__(self, reason: str, field: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field


class OrderValidationError(OrderRefused):
    """An order whose terms are wrong whatever the market: refused by a builder or a check."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message, field)


class BookError(TwsAppError, ValueError):
    """A request the book refuses: unknown order, done order, bad modify (``field``: the
    ibapi Order attribute at fault, "" when it is about the order's state)."""

    def __init__(self, reason: str, field: str = "") -> None:
        super().__init__(reason)
        self.field = field


class RequestError(TwsAppError):
    """TWS answered a request with an error."""

    def __init__(self, code: int, message: str, what: str = "") -> None:
        prefix = f"{what}: " if what else ""
        super().__init__(f"{prefix}TWS error {code}: {message}")
        self.code = code
        self.message = message


class RequestTimeout(TwsAppError, TimeoutError):
    """TWS did not answer a request in time."""


class NotReadyError(TwsAppError, RuntimeError):
    """No usable order id: nextValidId has not arrived (yet, or again after an invalidation)."""


class IdsExhausted(NotReadyError):
    """Every id up to INT_MAX - 1 is used: waiting for TWS will not help."""


class ContractError(TwsAppError, LookupError):
    """A contract lookup that did not give exactly one contract."""


class ContractNotFound(ContractError):
    """No contract matches."""


class StrategyError(TwsAppError):
    """A strategy module that cannot be loaded, or whose parameters are wrong."""
