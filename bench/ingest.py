"""Scenario 2, ingest: the same recorded TWS frames fed to each program's decoder.

Why recorded frames and not the socket: ingest is what a program does with messages once they
are read, and the socket reader (ibapi's, the same in both programs) would only add the same
constant to both sides and the simulator's encoding cost to the clock. So the frames are
recorded once from the simulator's own exchange and encoder (text protocol at the scenario's
server version) and fed, in the same order, through the path each program's own message loop
takes for a frame: for the bare programs ``EClient.run``'s (split off the message id, read the
fields, ``decoder.interpret``), for twsapp its wire's, which replaces that loop. Until the
last frame returns, the program has applied everything (callbacks run synchronously there).
What ``EClient.run`` does around that step (its queue, ``isConnected`` with its debug
formatting, its log calls: about 3 µs a frame) is left out, which favours the bare programs;
twsapp's inbox around ``_handle`` costs about 0.1 µs a frame.

The mix: per order one openOrder (Submitted), one orderStatus (Filled), one execDetails and
one commission report, then 25 % more frames repeating an earlier openOrder or orderStatus at
a random later point (20 % of all frames are duplicates), as TWS repeats them.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from ibapi import comm
from ibapi.contract import Contract
from ibapi.decoder import Decoder
from ibapi.message import IN
from ibapi.order import Order
from ibapi.server_versions import MIN_SERVER_VER_PROTOBUF

KINDS = {
    IN.OPEN_ORDER: "openOrder",
    IN.ORDER_STATUS: "orderStatus",
    IN.EXECUTION_DATA: "execDetails",
    IN.COMMISSION_AND_FEES_REPORT: "commission",
}
CLIENT_ID = 7


def record_frames(orders: int, version: int, seed: int = 1) -> list[bytes]:
    """Frame payloads for ``orders`` filled market orders, with duplicates (see above)."""
    from twsapp.sim import messages as m
    from twsapp.sim.server import SimServer
    from twsapp.sim.text import encode_text

    exchange = SimServer(port=0, speed=0.0, server_version=version).exchange
    batches: list[list[Any]] = []
    exchange.attach(CLIENT_ID, batches.append)
    contract = Contract()
    contract.conId, contract.exchange = 265598, "SMART"
    for order_id in range(1, orders + 1):
        order = Order()
        order.action = "BUY" if order_id % 2 else "SELL"
        order.orderType, order.totalQuantity, order.tif = "MKT", Decimal(1), "DAY"
        exchange.handle(CLIENT_ID, m.PlaceOrder(order_id, contract, order))
    picked: list[Any] = []
    per_order: dict[int, dict[str, Any]] = {}
    owner: dict[str, int] = {}  # execId -> order id
    for msg in (msg for batch in batches for msg in batch):
        if isinstance(msg, m.OpenOrder) and msg.state.status == "Submitted":
            per_order.setdefault(msg.order_id, {})["open"] = msg
        elif isinstance(msg, m.OrderStatus) and msg.status == "Filled":
            per_order.setdefault(msg.order_id, {})["status"] = msg
        elif isinstance(msg, m.ExecDetails):
            per_order.setdefault(msg.execution.orderId, {})["exec"] = msg
            owner[msg.execution.execId] = msg.execution.orderId
        elif isinstance(msg, m.CommissionReport):
            per_order[owner[msg.report.execId]]["commission"] = msg
    for order_id in sorted(per_order):
        four = per_order[order_id]
        picked += [four["open"], four["exec"], four["status"], four["commission"]]
    frames = [encode_text(version, msg) for msg in picked]
    rng = random.Random(seed)
    repeatable = [i for i, msg in enumerate(picked) if isinstance(msg, m.OpenOrder | m.OrderStatus)]
    for _ in range(len(frames) // 4):
        source = rng.choice(repeatable)
        frames.insert(rng.randrange(source + 1, len(frames) + 1), frames[source])
    return frames


def make_handler(program: str, version: int) -> tuple[Any, Callable[[bytes], None]]:
    """A fresh, unconnected program at ``version`` and what its message loop does per frame."""
    if program in ("bare", "bare_fields"):
        from .programs import BareApp

        if program == "bare_fields":
            from twsapp.session.fields import use_fast_fields

            use_fast_fields()
        client: Any = BareApp()
        client.serverVersion_ = version
        decoder = Decoder(client, version)
        return client, lambda text: ibapi_loop_step(decoder, text, version)
    if program == "twsapp":
        from twsapp import TwsApp

        client = TwsApp()
        wire = client.ibapi  # the wire: its own loop (Wire.run) hands each frame to _handle
        wire.serverVersion_ = version
        wire.decoder = Decoder(wire, version)
        return client, wire._handle
    raise ValueError(f"ingest measures bare, bare_fields and twsapp, not {program}")


def ibapi_loop_step(decoder: Decoder, text: bytes, version: int) -> None:
    """One frame, as ``EClient.run`` handles it."""
    msg_id, body = _split(text, version)
    decoder.interpret(comm.read_fields(body), msg_id)


def _split(text: bytes, version: int) -> tuple[int, bytes]:
    """A frame's message id and the rest, as ``EClient.run`` cuts them."""
    if version >= MIN_SERVER_VER_PROTOBUF:
        return int.from_bytes(text[:4], "big"), text[4:]
    cut = text.index(b"\0")
    return int(text[:cut]), text[cut + 1 :]


def feed(handle: Callable[[bytes], None], frames: list[bytes], version: int) -> dict[str, Any]:
    """Hand every frame to the program's handler; time per kind and over time."""
    every = max(1, len(frames) // 50)  # fifty points of the rate over time
    kinds = [KINDS.get(_split(text, version)[0], "other") for text in frames]
    per_kind: dict[str, float] = dict.fromkeys(KINDS.values(), 0.0)
    counts: dict[str, int] = dict.fromkeys(KINDS.values(), 0)
    timeline: list[tuple[float, int]] = []
    each: list[float] = []  # every frame's time
    clock = time.perf_counter
    cpu = time.thread_time()
    start = clock()
    for n, text in enumerate(frames, start=1):
        began = clock()
        handle(text)
        took = clock() - began
        each.append(took)
        kind = kinds[n - 1]
        per_kind[kind] = per_kind.get(kind, 0.0) + took
        counts[kind] = counts.get(kind, 0) + 1
        if n % every == 0:
            timeline.append((clock() - start, n))
    seconds = clock() - start
    cpu = time.thread_time() - cpu
    timeline.append((seconds, len(frames)))
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,  # this thread's CPU: what other load on the machine cannot inflate
        "messages": len(frames),
        "us_per_kind": {k: 1e6 * per_kind[k] / counts[k] for k in counts if counts[k]},
        "median_us": 1e6 * statistics.median(each),
        "p99_us": 1e6 * sorted(each)[round(0.99 * (len(each) - 1))],
        "timeline": timeline,
    }
