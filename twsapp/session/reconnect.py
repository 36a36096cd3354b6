"""When to try again after the socket to TWS closed: exponential backoff with jitter, capped.

TWS restarts every night and IB Gateway with it; every client of it then retries at the same
moment. Doubling the wait keeps a dead TWS from being hammered, the cap keeps a long outage from
making the wait absurd, and the jitter (each wait drawn between half and all of its step) keeps
several processes from retrying in lockstep. The attempts go on for ever unless ``attempts``
says otherwise.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """The wait before each attempt: ``first``, ``first * factor`` ..., at most ``cap``."""

    first: float = 1.0
    cap: float = 60.0
    factor: float = 2.0
    attempts: int | None = None  # None: for ever
    next_client_id: bool = False  # on 326, try the next client id

    def __post_init__(self) -> None:
        if not 0 < self.first <= self.cap:
            raise ValueError(f"reconnect waits: first {self.first} must be in (0, cap {self.cap}]")
        if self.factor < 1:
            raise ValueError(f"reconnect waits: factor {self.factor} must be at least 1")
        if self.attempts is not None and self.attempts < 1:
            raise ValueError(f"reconnect attempts {self.attempts}: give at least 1, or None")

    def step(self, attempt: int) -> float:
        """The ceiling of the wait before attempt ``attempt`` (1, 2 ...)."""
        exponent = min(attempt - 1, 64)  # 2 ** 64 already exceeds any cap
        return min(self.cap, self.first * self.factor**exponent)

    def delay(self, attempt: int, rng: random.Random) -> float:
        """The wait before attempt ``attempt``: between half of its step and all of it."""
        step = self.step(attempt)
        return step / 2 + rng.uniform(0, step / 2)

    def gives_up(self, attempt: int) -> bool:
        """True once ``attempt`` would be beyond the allowed number."""
        return self.attempts is not None and attempt > self.attempts
