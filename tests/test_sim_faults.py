"""Faults the simulator injects on purpose (sim/fault_plan.py), as a plain ibapi client sees them.

One test per fault, at a text and a protobuf server version (the ``sim`` fixture), over real
sockets, on the manual clock. Only a fault that lasts real time (restart, freeze) makes a test
wait, for a fraction of a second.
"""

from __future__ import annotations

import socket
import time
from decimal import Decimal

import pytest
from ibapi.execution import ExecutionFilter
from sim_client import SimClient, order, stock

from twsapp.exceptions import ConfigError
from twsapp.sim import rules
from twsapp.sim.fault_plan import (
    NOTICES,
    DelayCommission,
    DropAfter,
    Duplicate,
    Freeze,
    Notice,
    RefuseConnect,
    RejectOrder,
    Reorder,
    Restart,
    WithholdCommission,
)
from twsapp.sim.fault_spec import parse_fault
from twsapp.sim.inputs import SimInputError
from twsapp.sim.server import SimServer

AAPL = 265598


def resting_buy(sim: SimServer):
    """A limit buy far below the market: accepted, never filled."""
    bid = sim.exchange.prices.quote(AAPL, 0.0).bid
    return order("BUY", 100, "LMT", limit=round(bid * 0.5, 2))


def place(client: SimClient, o) -> tuple[int, int]:
    order_id = client.next_id()
    since = client.mark()
    client.placeOrder(order_id, stock("AAPL"), o)
    return order_id, since


def executions(client: SimClient) -> list:
    since = client.mark()
    client.reqExecutions(7, ExecutionFilter())
    client.wait("execDetailsEnd", since)
    return client.of("execDetails", since)


# --------------------------------------------------------------------------- dropped sockets


@pytest.mark.parametrize("reached", [True, False], ids=["reached", "lost"])
def test_drop_right_after_place_order_answers_nothing(sim, connect, reached):
    sim.faults.arm(DropAfter("placeOrder", reached=reached))
    client = connect(sim)
    order_id, since = place(client, resting_buy(sim))
    client.wait_closed()
    assert client.names(since) == ["connectionClosed"] and client.errors(since) == []
    assert sim.wait_idle()
    so = sim.exchange.orders.get((1, order_id))
    assert (so is not None and not so.done) if reached else so is None


def test_drop_after_the_ack_hides_the_fill_tws_made(sim, connect):
    sim.faults.arm(DropAfter("ack"))
    client = connect(sim)
    order_id, since = place(client, order("BUY", 100))  # a market order fills at once
    client.wait_closed()
    names = client.names(since)
    assert names[-2:] == ["orderStatus", "connectionClosed"] and "execDetails" not in names
    assert sim.exchange.orders[(1, order_id)].status == "Filled"
    assert sim.wait_detached(1)
    again = connect(sim)
    assert [e.execution.orderId for e in executions(again)] == [order_id]


def test_drop_in_a_fill_after_exec_details_before_its_commission(sim, connect):
    sim.faults.arm(DropAfter("execDetails"))
    client = connect(sim)
    _, since = place(client, order("BUY", 100))
    client.wait_closed()
    names = client.names(since)
    assert "execDetails" in names and "commissionAndFeesReport" not in names


# --------------------------------------------------------------------------- restart, freeze


def test_restart_refuses_connections_then_serves_the_same_orders_and_ids(sim, connect):
    client = connect(sim)
    resting, _ = place(client, resting_buy(sim))
    filled, since = place(client, order("BUY", 100))
    client.wait("commissionAndFeesReport", since)
    armed = time.monotonic()
    sim.faults.arm(Restart(down=0.5))
    client.wait_closed()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", sim.port), timeout=5).close()
    assert sim.wait_listening()
    assert time.monotonic() - armed >= 0.5
    again = connect(sim)
    assert again.of("nextValidId")[0].orderId > filled
    assert [e.orderId for e in again.of("openOrder")] == [resting]
    assert [e.execution.orderId for e in executions(again)] == [filled]


def test_freeze_answers_nothing_for_its_time_then_everything_queued(sim, client):
    armed = time.monotonic()
    sim.faults.arm(Freeze(seconds=0.4))
    since = client.mark()
    client.reqIds(-1)
    client.reqCurrentTime()
    client.wait("currentTime", since)
    assert time.monotonic() - armed >= 0.4
    assert client.names(since) == ["nextValidId", "currentTime"]


# --------------------------------------------------------------------------- callbacks


def test_duplicate_sends_the_callback_twice(sim, client):
    sim.faults.arm(Duplicate("execDetails"))
    _, since = place(client, order("BUY", 100))
    client.wait("commissionAndFeesReport", since)
    first, second = client.of("execDetails", since)
    assert first.execution.execId == second.execution.execId
    _, since = place(client, order("BUY", 100))  # fired once: the next fill is normal
    client.wait("commissionAndFeesReport", since)
    assert len(client.of("execDetails", since)) == 1


def test_reorder_permutes_the_order_events_of_a_batch(sim_factory, server_version, connect):
    def fill_names(sim: SimServer) -> list[str]:
        client = connect(sim)
        _, since = place(client, order("BUY", 100))
        client.wait("commissionAndFeesReport", since)
        return [n for n in client.names(since) if n in ("openOrder", "orderStatus", "execDetails")]

    plain = fill_names(sim_factory(server_version=server_version))
    faulty = sim_factory(server_version=server_version)
    faulty.faults.arm(Reorder())
    shuffled = fill_names(faulty)
    assert shuffled != plain and sorted(shuffled) == sorted(plain)


def test_commission_report_delayed_by_simulated_time(sim, client):
    sim.faults.arm(DelayCommission(seconds=30))
    order_id, since = place(client, order("BUY", 100))
    client.wait_status(order_id, "Filled", since)
    sim.advance(29)
    client.sync()
    assert client.of("commissionAndFeesReport", since) == []
    sim.advance(1)
    report = client.wait("commissionAndFeesReport", since).commissionAndFeesReport
    assert report.execId == client.of("execDetails", since)[0].execution.execId


def test_commission_report_withheld_is_only_in_the_executions(sim, client):
    sim.faults.arm(WithholdCommission())
    order_id, since = place(client, order("BUY", 100))
    client.wait_status(order_id, "Filled", since)
    sim.advance(3600)
    client.sync()
    assert client.of("commissionAndFeesReport", since) == []
    executions(client)
    client.wait("commissionAndFeesReport", since)


# --------------------------------------------------------------------------- messages


def test_connectivity_notices_with_tws_texts(sim, client):
    since = client.mark()
    for code in (1100, 1101, 1102, 2103, 2104):
        sim.faults.arm(Notice(code))
        event = client.wait_error(code, since)
        assert (event.reqId, event.errorString) == (-1, NOTICES[code])
    assert NOTICES[1100] == "Connectivity between IB and Trader Workstation has been lost."
    sim.faults.arm(Notice(1102, after="reqIds"))
    since = client.mark()
    client.next_id()
    assert client.wait_error(1102, since).reqId == -1


@pytest.mark.parametrize("code", [103, 201])
def test_next_order_answered_with_103_or_201(sim, client, code):
    sim.faults.arm(RejectOrder(code))
    order_id, since = place(client, resting_buy(sim))
    event = client.wait_error(code, since, reqId=order_id)
    expected = "Duplicate order id" if code == 103 else "Order rejected - reason:"
    assert event.errorString.startswith(expected)
    client.sync()
    assert client.of("openOrder", since) == [] and (1, order_id) not in sim.exchange.orders
    order_id, since = place(client, resting_buy(sim))  # once only: the next one is accepted
    client.wait("openOrder", since, orderId=order_id)


def test_connect_answered_with_326_once(sim, connect):
    sim.faults.arm(RefuseConnect())
    refused = connect(sim, wait_ready=False)
    event = refused.wait_error(rules.CLIENT_ID_IN_USE)
    assert event.errorString == rules.text(rules.CLIENT_ID_IN_USE)
    refused.wait_closed()
    assert sim.wait_detached(1)
    assert connect(sim).of("nextValidId")


# --------------------------------------------------------------------------- spelling


@pytest.mark.parametrize(
    ("spec", "fault"),
    [
        ("drop:what=ack", DropAfter("ack")),
        ("drop:what=placeOrder,reached=false", DropAfter("placeOrder", reached=False)),
        ("restart:down=2.5,after=placeOrder", Restart(2.5, "placeOrder")),
        ("freeze:seconds=6,after=reqIds,times=0", Freeze(6, "reqIds", 0)),
        ("notice:code=1101,after=startApi", Notice(1101, "startApi")),
        ("duplicate:callback=commissionAndFeesReport", Duplicate("commissionAndFeesReport")),
        ("reorder:times=3", Reorder(3)),
        ("delay-commission:seconds=30", DelayCommission(30)),
        ("withhold-commission", WithholdCommission()),
        ("reject:code=103", RejectOrder(103)),
        ("refuse-connect", RefuseConnect()),
    ],
)
def test_faults_written_as_text(spec, fault):
    assert parse_fault(spec) == fault


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("explode", "'explode' is no kind of fault"),
        ("drop", "needs what"),
        ("drop:what=later", "'later' is not a moment"),
        ("restart:down=2", "needs after"),
        ("freeze:seconds=x,after=reqIds", "seconds='x' is not float"),
        ("notice:code=1200,after=reqIds", "code=1200 is not one of 1100, 1101, 1102, 2103, 2104"),
        ("notice:code=1100,after=nothing", "after='nothing' names no request"),
        ("duplicate:callback=nope", "'nope' is no callback"),
        ("reject:code=202", "code=202 is not 103 or 201"),
        ("reorder:times=-1", "times=-1 is not a count"),
        ("reorder:often", "'often' is not KEY=VALUE"),
    ],
)
def test_bad_faults_are_refused_in_one_line(spec, problem):
    with pytest.raises(SimInputError) as info:
        parse_fault(spec)
    message = info.value.named("--fault")
    assert message.startswith(f"--fault {spec!r}: {problem}") and "\n" not in message


def test_config_fault_plan_reaches_the_embedded_simulator(tmp_path):
    from twsapp.config import config_from_dict
    from twsapp.engine import Engine

    config = config_from_dict({"sim": {"fault_plan": ["reject:code=103"]}}, base_dir=tmp_path)
    assert Engine(config)._make_sim().faults.armed() == [RejectOrder(103)]
    bad = config_from_dict({"sim": {"fault_plan": ["drop:what=soon"]}}, base_dir=tmp_path)
    with pytest.raises(ConfigError, match=r"sim\.fault_plan: .*'soon' is not a moment"):
        Engine(bad)._make_sim()
    with pytest.raises(ConfigError, match=r"sim\.fault_plan"):
        config_from_dict({"sim": {"fault_plan": "drop:what=ack"}}, base_dir=tmp_path)


def test_settings_fault_plan_is_armed_at_start(sim_factory):
    sim = sim_factory(fault_plan=["refuse-connect", Duplicate("orderStatus", times=2)])
    assert sim.faults.armed() == [RefuseConnect(), Duplicate("orderStatus", times=2)]
    with pytest.raises(SimInputError, match="fires before anyone connects"):
        sim_factory(fault_plan=[Freeze(1.0)])
    with pytest.raises(SimInputError, match="times=Decimal"):
        sim_factory(fault_plan=[Reorder(times=Decimal(1))])  # type: ignore[arg-type]
