"""The simulator's order indexes (state.py) agree with a scan of every order it holds.

Issue 12: a request must cost the same with 10 or 10,000 orders held, so the exchange keeps its
live orders, bracket children and OCA groups indexed instead of scanning. These tests drive the
exchange's handlers directly and compare each index with what a full scan finds.
"""

from __future__ import annotations

from decimal import Decimal

from ibapi.contract import Contract
from ibapi.order import Order

from twsapp.sim import messages as m
from twsapp.sim.server import SimServer

CLIENT = 3


def _exchange():
    exchange = SimServer(port=0, speed=0.0).exchange  # never started: no socket
    exchange.attach(CLIENT, lambda batch: None)
    return exchange


def _lmt(price: float = 100.0, **fields) -> Order:
    order = Order()
    order.action, order.orderType, order.totalQuantity = "BUY", "LMT", Decimal(1)
    order.lmtPrice, order.tif = price, "GTC"
    for name, value in fields.items():
        setattr(order, name, value)
    return order


def _place(exchange, order_id: int, order: Order) -> None:
    contract = Contract()
    contract.conId, contract.exchange = 265598, "SMART"
    exchange.handle(CLIENT, m.PlaceOrder(order_id, contract, order))


def _scan_children(exchange, parent) -> list:
    return sorted(
        (o for o in exchange.orders.values()
         if o.client_id == parent.client_id and o.order.parentId == parent.order_id),
        key=lambda o: o.order_id,
    )  # fmt: skip


def test_live_index_holds_exactly_the_orders_not_done():
    exchange = _exchange()
    for order_id in range(1, 41):
        _place(exchange, order_id, _lmt())
    for order_id in range(1, 41, 3):
        exchange.handle(CLIENT, m.CancelOrder(order_id))
    live = exchange._not_done()
    assert {o.perm_id for o in live} == {o.perm_id for o in exchange.orders.values() if not o.done}
    assert len(exchange._live) == len(live) == 26  # the cancelled ones are pruned
    assert exchange._working(CLIENT) == [o for o in exchange.orders.values() if not o.done]


def test_children_are_found_through_the_index_also_after_a_held_order_is_replaced():
    exchange = _exchange()
    _place(exchange, 1, _lmt(transmit=False))
    _place(exchange, 2, _lmt(transmit=False))
    _place(exchange, 3, _lmt(99.0, parentId=1, transmit=False))
    _place(exchange, 3, _lmt(98.0, parentId=2, transmit=False))  # a held child moves parent
    _place(exchange, 4, _lmt(97.0, parentId=2, transmit=True))
    first, second = exchange.orders[(CLIENT, 1)], exchange.orders[(CLIENT, 2)]
    assert exchange._children(first) == _scan_children(exchange, first) == []
    assert [o.order_id for o in exchange._children(second)] == [3, 4]
    assert exchange._children(second) == _scan_children(exchange, second)
    exchange.handle(CLIENT, m.CancelOrder(2))  # a parent's cancel takes its children along
    assert all(o.done for o in _scan_children(exchange, second))


def test_oca_members_are_indexed_by_group():
    exchange = _exchange()
    for order_id in (1, 2, 3):
        _place(exchange, order_id, _lmt(ocaGroup="G", ocaType=1))
    _place(exchange, 4, _lmt(ocaGroup="H", ocaType=1))
    assert {o.order_id for o in exchange._oca["G"].values()} == {1, 2, 3}
    assert {o.order_id for o in exchange._oca["H"].values()} == {4}
