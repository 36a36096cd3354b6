"""Deliberate misbehaviour that real TWS shows now and then, switched on for tests.

TWS repeats orderStatus, and delivers execDetails / orderStatus / commission reports in an order
that need not match the logical one. A client must cope; these knobs make the simulator do it on
purpose, seeded, so a failing test can be replayed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from . import messages as m

ORDER_EVENTS = (m.OpenOrder, m.OrderStatus, m.ExecDetails, m.CommissionReport)


@dataclass(frozen=True)
class Faults:
    duplicate_status: float = 0.0  # probability that an orderStatus is sent twice
    shuffle_order_events: bool = False  # permute openOrder/orderStatus/execDetails/commission
    seed: int = 0

    @property
    def active(self) -> bool:
        return self.duplicate_status > 0 or self.shuffle_order_events


class FaultInjector:
    """Transforms one batch of outgoing messages for one client."""

    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self._rng = random.Random(faults.seed)

    def apply(self, batch: list[m.Message]) -> list[m.Message]:
        if not self.faults.active:
            return batch
        out: list[m.Message] = []
        for msg in batch:
            out.append(msg)
            if isinstance(msg, m.OrderStatus) and self._rng.random() < self.faults.duplicate_status:
                out.append(msg)
        if self.faults.shuffle_order_events:
            slots = [i for i, msg in enumerate(out) if isinstance(msg, ORDER_EVENTS)]
            moved = [out[i] for i in slots]
            self._rng.shuffle(moved)
            for i, msg in zip(slots, moved, strict=True):
                out[i] = msg
        return out
