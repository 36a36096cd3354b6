"""After a restart: a new TwsApp with the same client id syncs a TWS that holds the orders of the
session before, as a user meets it (`twsapp run` stopped and started again).

What TWS reports about a done order then: completedOrder (found by permId; at text versions it
carries no orderId nor clientId, and a filled order's totalQuantity reads 0 while its
filledQuantity is the size), and execDetails for its fills (orderId + clientId + permId). The
book joins them by permId: every record shows its quantity, and its order id wherever a message
revealed it. An id no message revealed (a cancelled, never-filled order whose completedOrder
carries none) stays unknown: `ids_known` is False and the frames show <NA>, never 0.
"""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
from app_helpers import WAIT, Events, barrier, quote
from ibapi.contract import Contract
from ibapi.decoder import Decoder
from ibapi.execution import Execution
from ibapi.protobuf.CompletedOrder_pb2 import CompletedOrder as CompletedOrderProto
from ibapi.server_versions import MIN_SERVER_VER_PROTOBUF_COMPLETED_ORDER
from ibapi.wrapper import EWrapper

from twsapp.book import OrderBook
from twsapp.orders import limit_order, market_order
from twsapp.session import TwsApp

CLIENT = 1


def first_session(sim, app):
    """A limit order placed and cancelled, then a market order that fills; the app stops."""
    events = Events(app)
    bid = quote(sim).bid
    lim = app.place("AAPL", limit_order("BUY", 5, round(bid - 5, 2), order_ref="dip"))
    events.status(lim.order_id, "Submitted")
    sim.advance(30)
    app.cancel(lim.order_id)
    events.status(lim.order_id, "Cancelled")
    sim.advance(30)
    mkt = app.place("AAPL", market_order("BUY", 10, order_ref="entry"))
    events.wait(lambda: mkt.status == "Filled" and mkt.commission is not None, "the fill")
    app.stop()
    assert sim.wait_detached(CLIENT)
    return lim.snapshot(), mkt.snapshot()


def reported_completed(connect, sim) -> dict[int, object]:
    """What TWS's completedOrder says, by permId, as a plain ibapi program receives it."""
    client = connect(sim, client_id=7)
    since = client.mark()
    client.reqCompletedOrders(False)
    client.wait("completedOrdersEnd", since)
    return {e.order.permId: e for e in client.of("completedOrder", since)}


def test_restart_shows_every_order_with_its_id_and_quantity(sim, app_factory, connect):
    lim, mkt = first_session(sim, app_factory(sim, client_id=CLIENT))
    app = app_factory(sim, client_id=CLIENT)
    app.sync()
    barrier(app)

    # the simulator's own record, and what its completedOrder reveals
    sim_lim = sim.exchange.orders[(CLIENT, lim.order_id)]
    sim_mkt = sim.exchange.orders[(CLIENT, mkt.order_id)]
    assert (sim_lim.status, sim_lim.filled, sim_lim.order.totalQuantity) == ("Cancelled", 0, 5)
    assert (sim_mkt.status, sim_mkt.filled, sim_mkt.order.totalQuantity) == ("Filled", 10, 10)
    assert (sim_lim.perm_id, sim_mkt.perm_id) == (lim.perm_id, mkt.perm_id)
    completed = reported_completed(connect, sim)
    assert completed[mkt.perm_id].order.filledQuantity == 10
    revealed = completed[lim.perm_id].order.orderId  # 0: this completedOrder carries no id
    mkt_ids_from = "completedOrder" if completed[mkt.perm_id].order.orderId else "execDetails"

    records = app.book.records()
    assert len(records) == 2
    filled = app.book.by_perm_id(mkt.perm_id)
    cancelled = app.book.by_perm_id(lim.perm_id)

    # the filled order: its ids come with its execution, its size with what filled
    assert (filled.client_id, filled.order_id, filled.ids_known) == (CLIENT, mkt.order_id, True)
    assert app.book.get(mkt.order_id) is filled
    assert (filled.status, filled.total_quantity, filled.filled, filled.remaining) == (
        "Filled",
        10,
        10,
        0,
    )
    assert len(filled.fills) == 1 and filled.avg_fill_price == mkt.avg_fill_price
    assert (filled.action, filled.order_type, filled.order.orderRef) == ("BUY", "MKT", "entry")

    # the cancelled order: its quantity is its own; its id only if TWS sent one
    assert (cancelled.status, cancelled.total_quantity, cancelled.filled) == ("Cancelled", 5, 0)
    assert cancelled.remaining == 5 and not cancelled.fills
    assert (cancelled.limit_price, cancelled.order.orderRef) == (lim.limit_price, "dip")
    if revealed:
        assert (cancelled.order_id, cancelled.ids_known) == (lim.order_id, True)
        assert app.book.get(lim.order_id) is cancelled
    else:
        assert (cancelled.order_id, cancelled.ids_known, cancelled.ids_from) == (0, False, "")
        assert app.book.get(lim.order_id) is None and app.book.get(0) is None

    df = app.book.orders_df().set_index("perm_id")
    f, c = df.loc[mkt.perm_id], df.loc[lim.perm_id]
    assert (f["order_id"], f["client_id"], f["ids_from"]) == (mkt.order_id, CLIENT, mkt_ids_from)
    assert (f["quantity"], f["filled"], f["remaining"], f["status"]) == (10.0, 10.0, 0.0, "Filled")
    assert (c["quantity"], c["filled"], c["remaining"], c["status"]) == (5.0, 0.0, 5.0, "Cancelled")
    if revealed:
        assert c["order_id"] == lim.order_id
    else:  # unknown, not 0: never equal to another order's id, nor to another unknown one
        assert pd.isna(c["order_id"]) and pd.isna(c["client_id"]) and c["ids_from"] == ""


def test_restart_keeping_the_book_joins_by_perm_id(sim, app_factory):
    """The same process connecting again with its book: one record per order, ids kept."""
    first = app_factory(sim, client_id=CLIENT)
    book = first.book
    lim, mkt = first_session(sim, first)
    app = TwsApp(book, request_timeout=WAIT).start("127.0.0.1", sim.port, CLIENT, WAIT)
    try:
        app.sync()
        barrier(app)
        assert len(book.records()) == 2
        for before in (lim, mkt):
            rec = book.get(before.order_id)
            assert rec is book.by_perm_id(before.perm_id) and rec.ids_from == "placeOrder"
            assert (rec.status, rec.total_quantity) == (before.status, before.total_quantity)
            assert rec.filled == before.filled and len(rec.fills) == len(before.fills)
    finally:
        app.stop()


# ---------------------------------------------------------------------- the book alone


class _Forwarder(EWrapper):
    def __init__(self, book: OrderBook) -> None:
        super().__init__()
        self.book = book

    def completedOrder(self, contract, order, orderState):
        self.book.on_completed_order(contract, order, orderState)


def _completed_proto(**order_fields) -> bytes:
    """A protobuf completedOrder for a filled AAPL market order, as TWS 10.37+ sends it."""
    proto = CompletedOrderProto()
    proto.contract.conId, proto.contract.symbol, proto.contract.secType = 265598, "AAPL", "STK"
    proto.contract.exchange, proto.contract.currency = "SMART", "USD"
    o = proto.order
    o.permId, o.action, o.orderType, o.tif, o.account = 424242, "BUY", "MKT", "DAY", "DU1"
    o.totalQuantity, o.filledQuantity = "0", "10"  # TWS lists a filled order with total 0
    for name, value in order_fields.items():
        setattr(o, name, value)
    proto.orderState.status = "Filled"
    proto.orderState.completedStatus = "Filled Size: 10"
    return proto.SerializeToString()


def _feed_proto(book: OrderBook, payload: bytes) -> None:
    decoder = Decoder(_Forwarder(book), MIN_SERVER_VER_PROTOBUF_COMPLETED_ORDER)
    decoder.processCompletedOrderMsgProtoBuf(payload)


def test_protobuf_completed_order_with_ids_gives_them():
    """Real TWS at 225 writes clientId and orderId into completedOrder (a public paper-Gateway
    capture shows them): the record then has its ids from that message alone."""
    book = OrderBook(client_id=1)
    _feed_proto(book, _completed_proto(clientId=1, orderId=456))
    rec = book.get(456)
    assert rec is not None and rec is book.by_perm_id(424242)
    assert (rec.ids_from, rec.status, rec.total_quantity, rec.filled, rec.remaining) == (
        "completedOrder",
        "Filled",
        10,
        10,
        0,
    )


def _fill(order_id: int = 5, perm_id: int = 424242) -> tuple[Contract, Execution]:
    """An execDetails of all 10 shares: it carries orderId, clientId and permId."""
    contract = Contract()
    contract.conId, contract.symbol, contract.secType = 265598, "AAPL", "STK"
    contract.exchange, contract.currency = "SMART", "USD"
    e = Execution()
    e.orderId, e.clientId, e.permId, e.execId = order_id, 1, perm_id, "e.01.01"
    e.time, e.acctNumber, e.exchange, e.side = "20250102  14:31:00", "DU1", "ISLAND", "BOT"
    e.shares, e.price, e.cumQty, e.avgPrice = Decimal(10), 150.0, Decimal(10), 150.0
    return contract, e


def test_completed_order_without_ids_then_its_fill_binds_them():
    book = OrderBook(client_id=1)
    _feed_proto(book, _completed_proto())
    [rec] = book.records()
    assert (rec.order_id, rec.ids_known, rec.total_quantity, rec.filled) == (0, False, 10, 10)
    assert pd.isna(book.orders_df().iloc[0]["order_id"])
    book.on_exec_details(-1, *_fill())
    assert [rec] == book.records() and book.get(5) is rec
    assert (rec.client_id, rec.order_id, rec.ids_from) == (1, 5, "execDetails")
    assert (rec.total_quantity, rec.filled, rec.remaining) == (10, 10, 0)
    assert book.orders_df().iloc[0]["order_id"] == 5


def test_fill_before_completed_order_gives_the_same_record():
    book = OrderBook(client_id=1)
    book.on_exec_details(-1, *_fill())
    _feed_proto(book, _completed_proto())
    [rec] = book.records()
    assert (rec.client_id, rec.order_id, rec.ids_from) == (1, 5, "execDetails")
    assert rec.status == "Filled"
    assert (rec.total_quantity, rec.filled, rec.remaining, rec.action) == (10, 10, 0, "BUY")


def test_the_raw_order_keeps_what_tws_sent():
    """The record's quantity is the order's size; its raw ibapi order is TWS's, unchanged."""
    book = OrderBook(client_id=1)
    _feed_proto(book, _completed_proto(clientId=1, orderId=9))
    rec = book.get(9)
    assert rec.order.totalQuantity == Decimal(0) and rec.total_quantity == 10
    assert book.orders_df().iloc[0]["quantity"] == 10.0


def test_two_unknown_ids_are_two_orders():
    """Two done orders whose ids TWS never sent: two records, neither found by id 0."""
    book = OrderBook(client_id=1)
    _feed_proto(book, _completed_proto())
    _feed_proto(book, _completed_proto(permId=434343))
    assert len(book.records()) == 2 and book.get(0) is None
    df = book.orders_df()
    assert df["order_id"].isna().all() and df["perm_id"].is_unique
