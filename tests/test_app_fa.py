"""An advisor's login through the app and the control API, against the simulator: groups
learned from TWS at connect (requestFA), a group order whose block execution the book counts
once (its accounts' shares kept apart), orders per account or group, positions per account; the
control API's group and sub-account orders with the Client Portal lesson bodies.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from app_helpers import AAPL, WAIT, Events, barrier
from control_helpers import FA_ACCOUNTS, GROUP, served
from test_control_api import LESSON_GROUP, LESSON_MKT, RISK

from twsapp.exceptions import BookError
from twsapp.orders import market_order
from twsapp.session import TwsApp
from twsapp.sim import messages as m

ADVISOR, A, B = "DF1000", "DU111", "DU222"


@pytest.fixture
def advisor(sim_factory, server_version):
    return sim_factory(server_version=server_version, accounts=[ADVISOR, A, B],
                       fa_groups={"Two": [A, B]}, fa_methods={"Two": "NetLiq"})  # fmt: skip


def start(sim, **kwargs) -> TwsApp:
    return TwsApp(request_timeout=WAIT, **kwargs).start("127.0.0.1", sim.port, 1, WAIT)


def group_order(quantity: int, group: str = "Two"):
    o = market_order("BUY", quantity)
    o.faGroup = group
    return o


def test_the_groups_come_from_tws_at_connect(advisor, sim_factory):
    app = start(advisor)
    try:
        assert app.advisor_login and app.accounts == [ADVISOR, A, B]
        assert app.fa_groups == {"Two"}
        info = app.fa_group_info["Two"]
        assert (info.accounts, info.method) == ((A, B), "NetLiq")
        assert advisor.received(1)[0] == m.ReqFA(1)
        with pytest.raises(Exception, match=r"faGroup 'Three' is not one of the FA groups \(Two\)"):
            app.place("AAPL", group_order(5, "Three"))
    finally:
        app.stop()
    single = sim_factory()
    app = start(single)
    try:  # one account: no advisor's, nothing asked, groups unknown
        assert app.fa_groups is None and not any(isinstance(r, m.ReqFA) for r in single.received(1))
    finally:
        app.stop()


def test_a_group_order_counts_its_block_execution_once(advisor):
    app = start(advisor)
    try:
        app.sync()
        events = Events(app)
        record = app.place("AAPL", group_order(101))
        events.status(record.order_id, "Filled")
        events.wait(lambda: len(app.book.get(record.order_id).allocations) == 2, "allocations")
        barrier(app)
        rec = app.book.get(record.order_id)
        assert rec.filled == 101 and rec.remaining == 0
        [block] = rec.fills.values()
        assert (block.account, block.shares) == (ADVISOR, 101)
        shares = sorted((f.account, f.shares) for f in rec.allocations.values())
        assert sum(q for _, q in shares) == 101 and [a for a, _ in shares] == [A, B]
        assert all(f.commission is not None for f in rec.allocations.values())
        assert block.commission == pytest.approx(
            sum(f.commission for f in rec.allocations.values())
        )
        held = dict(shares)
        events.wait(lambda: {p.account: p.position for p in app.book.positions()} == held,
                    "positions per account")  # fmt: skip
        assert [p.position for p in app.positions_for(A)] == [held[A]]
        with pytest.raises(BookError, match="'Two' is an allocation group"):
            app.positions_for("Two")
        assert [r.order_id for r in app.orders_for("Two")] == [record.order_id]
        assert app.orders_for(A) == [] and len(app.orders_for("All")) == 1
        frame = app.book.orders_df()
        assert list(frame["fa_group"]) == ["Two"] and list(frame["account"]) == [""]
        assert list(app.book.fills_df()["shares"]) == [101.0]
    finally:
        app.stop()


def test_without_an_advisor_account_each_accounts_execution_is_a_fill(sim_factory):
    sim = sim_factory(accounts=[A, B], fa_groups={"Two": [A, B]})
    app = start(sim)
    try:
        events = Events(app)
        record = app.place("AAPL", group_order(7))
        events.status(record.order_id, "Filled")
        events.wait(lambda: app.book.get(record.order_id).filled == 7, "both fills")
        rec = app.book.get(record.order_id)
        assert sorted((f.account, f.shares) for f in rec.fills.values()) == [(A, 4), (B, 3)]
        assert rec.allocations == {}
    finally:
        app.stop()


# --------------------------------------------------------------------------- control API


def test_control_api_orders_to_a_group_and_to_one_sub_account(tmp_path):
    """The Client Portal's FA lesson: the group order of 100 is split 50 / 50 (EqualQuantity),
    one execution per sub-account; a sub-account's order touches only it."""
    sub, other = FA_ACCOUNTS
    with served(tmp_path, RISK, pacing=False) as api:
        api.prices.set(AAPL, 150.0)
        listed = api.client.get("/iserver/accounts").json()
        assert listed["groups"] == [GROUP, "All"] and listed["isFA"] is True
        answer = api.client.post(f"/iserver/account/{GROUP}/orders", json=LESSON_GROUP)
        assert answer.status_code == 200, answer.text
        group_id = int(answer.json()[0]["order_id"])
        events = Events(api.app)
        events.status(group_id, "Filled")
        want = {sub: 50.0, other: 50.0}
        events.wait(lambda: {p.account: float(p.position) for p in api.app.book.positions()}
                    == want, "positions of both sub-accounts")  # fmt: skip
        for account in FA_ACCOUNTS:
            trades = api.client.get("/iserver/account/trades", params={"accountId": account})
            assert [(t["order_id"], t["size"]) for t in trades.json()] == [(group_id, 50.0)]
        orders = api.client.get("/iserver/account/orders", params={"accountId": GROUP}).json()
        assert [(o["orderId"], o["acct"], o["faGroup"]) for o in orders["orders"]] == [
            (group_id, GROUP, GROUP)
        ]

        body = {"orders": [{**LESSON_MKT["orders"][0], "acctId": other}]}
        answer = api.client.post(f"/iserver/account/{other}/orders", json=body)
        assert answer.status_code == 200, answer.text
        single_id = int(answer.json()[0]["order_id"])
        events.status(single_id, "Filled")
        want = {sub: 50.0, other: 60.0}
        events.wait(lambda: {p.account: float(p.position) for p in api.app.book.positions()}
                    == want, "only the sub-account's position")  # fmt: skip
        rows = api.client.get(f"/portfolio/{other}/positions/0").json()
        assert [(r["acctId"], r["conid"], r["position"]) for r in rows] == [(other, AAPL, 60.0)]
        rows = api.client.get(f"/portfolio/{sub}/positions/0").json()
        assert [(r["acctId"], r["position"]) for r in rows] == [(sub, 50.0)]
        refused = api.client.get(f"/portfolio/{GROUP}/positions/0")
        assert refused.status_code == 400 and "positions are per account" in refused.text
        assert Decimal(str(api.app.book.get(single_id).filled)) == 10
