"""An advisor's login in the simulator, through a real ibapi client on the manual clock: group
orders split across sub-accounts (each method, its rounding and remainders), the executions an
advisor sees, positions and account values per sub-account, requestFA / replaceFA, and the
multi-account views (reqAccountUpdatesMulti, reqPositionsMulti) with their End messages.

Expected splits are worked out here from what the client itself was told (reqAccountSummary's
values, its own positions) with IB's documented rules (fa.py names them): shares in proportion,
rounded down, the shares left one each to the largest fractional parts, first listed first.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from sim_client import SimClient, order, stock
from versions import NEWEST

from twsapp.sim.server import SimServer

ADVISOR, A, B, C = "DF1000", "DU111", "DU222", "DU333"
AAPL = 265598
NOT_FA = "Error validating request.-'bW' : cause - FA data operations ignored for non FA customers."
XML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>'


@pytest.fixture(params=[176, NEWEST], ids=lambda v: f"v{v}")
def version(request) -> int:
    """A text and a protobuf version (accounts and positions move at 207, FA at 211)."""
    return request.param


@pytest.fixture
def advisor(sim_factory, version) -> SimServer:
    """An advisor (DF...) with three clients; Two is A and B, Three all of them."""
    return sim_factory(server_version=version, accounts=[ADVISOR, A, B, C],
                       fa_groups={"Two": [A, B], "Three": [A, B, C]})  # fmt: skip


@pytest.fixture
def clients(sim_factory, version) -> SimServer:
    """A login with two accounts and no advisor account of its own listed."""
    return sim_factory(server_version=version, accounts=[A, B], fa_groups={"Two": [A, B]})


def group_order(action: str, quantity, group: str, method: str = "", percent: str = ""):
    o = order(action, quantity)
    o.faGroup, o.faMethod, o.faPercentage = group, method, percent
    return o


def place(client: SimClient, o, contract=None) -> tuple[int, int]:
    """Place and wait until filled and every report is in: (order id, mark before)."""
    order_id = client.next_id()
    since = client.mark()
    client.placeOrder(order_id, contract or stock("AAPL"), o)
    client.wait_status(order_id, "Filled", since)
    client.sync()
    return order_id, since


def executions(client: SimClient, since: int) -> list[tuple[str, Decimal]]:
    return [(e.execution.acctNumber, e.execution.shares) for e in client.of("execDetails", since)]


def positions(client: SimClient) -> dict[str, Decimal]:
    since = client.mark()
    client.reqPositions()
    client.wait("positionEnd", since)
    client.cancelPositions()
    return {p.account: p.position for p in client.of("position", since) if p.contract.conId == AAPL}


def summary(client: SimClient, tag: str) -> dict[str, Decimal]:
    since = client.mark()
    client.reqAccountSummary(9, "All", tag)
    client.wait("accountSummaryEnd", since, reqId=9)
    client.cancelAccountSummary(9)
    return {r.account: Decimal(r.value) for r in client.of("accountSummary", since, reqId=9)}


def expected_split(total: int, weights: list[Decimal]) -> list[int]:
    """IB's rule as fa.py states it, written out again: floor, then largest remainders."""
    exact = [Decimal(total) * w / sum(weights) for w in weights]
    parts = [int(x) for x in exact]
    by_fraction = sorted(range(len(weights)), key=lambda i: (parts[i] - exact[i], i))
    for i in by_fraction[: total - sum(parts)]:
        parts[i] += 1
    return parts


# --------------------------------------------------------------------------- splitting


def test_equal_quantity_gives_the_remainder_one_share_each_to_the_first(advisor, connect):
    client = connect(advisor)
    _, since = place(client, group_order("BUY", 100, "Three"))
    shares = [(a, q) for a, q in executions(client, since) if a != ADVISOR]
    assert shares == [(A, 34), (B, 33), (C, 33)]
    _, since = place(client, group_order("BUY", 101, "Two"))
    assert [(a, q) for a, q in executions(client, since) if a != ADVISOR] == [(A, 51), (B, 50)]
    assert positions(client) == {A: 85, B: 83, C: 33}  # per account, never the group's


def test_the_advisor_sees_the_block_execution_first_then_one_per_account(advisor, connect):
    """The block on the advisor's account with the sum of the commissions, then each account's
    execution and report; every execution carries the order's ids."""
    client = connect(advisor)
    order_id, since = place(client, group_order("BUY", 101, "Two"))
    names = client.names(since)
    first_exec = names.index("execDetails")
    assert names[first_exec + 1 :].count("execDetails") == 2
    execs = [e.execution for e in client.of("execDetails", since)]
    reports = {r.commissionAndFeesReport.execId: r.commissionAndFeesReport
               for r in client.of("commissionAndFeesReport", since)}  # fmt: skip
    assert [(x.acctNumber, x.shares) for x in execs] == [(ADVISOR, 101), (A, 51), (B, 50)]
    assert {x.orderId for x in execs} == {order_id} and len({x.permId for x in execs}) == 1
    assert len({x.execId for x in execs}) == 3 and set(reports) == {x.execId for x in execs}
    block, *shares = execs
    assert block.cumQty == 101 and [x.cumQty for x in shares] == [51, 50]
    fees = [reports[x.execId].commissionAndFees for x in shares]
    assert reports[block.execId].commissionAndFees == pytest.approx(sum(fees))
    [status] = [s for s in client.of("orderStatus", since) if s.status == "Filled"][-1:]
    assert status.filled == 101
    assert ADVISOR not in positions(client)  # the block books nothing
    cash = summary(client, "TotalCashValue")
    assert cash[ADVISOR] == Decimal("1000000.00")
    price = block.price
    for x, fee in zip(shares, fees, strict=True):
        spent = Decimal(repr(float(x.shares) * price + fee)).quantize(Decimal("0.01"))
        assert cash[x.acctNumber] == Decimal("1000000.00") - spent


def test_without_an_advisor_account_the_accounts_executions_are_all(clients, connect):
    client = connect(clients)
    _, since = place(client, group_order("SELL", 7, "Two"))
    assert executions(client, since) == [(A, 4), (B, 3)]
    assert positions(client) == {A: -4, B: -3}


def test_net_liq_and_available_equity_split_by_the_accounts_values(advisor, connect):
    client = connect(advisor)
    own = order("BUY", 3000)
    own.account = A  # A holds AAPL: less available equity, and its own net liquidation
    place(client, own)
    client.sync()
    for method, tag in (("NetLiq", "NetLiquidation"), ("AvailableEquity", "AvailableFunds")):
        values = summary(client, tag)
        weights = [values[A], values[B], values[C]]
        want = expected_split(1000, weights)
        _, since = place(client, group_order("BUY", 1000, "Three", method))
        got = [q for a, q in executions(client, since) if a != ADVISOR]
        assert got == want, method
    assert want[0] < min(want[1:])  # A's margin leaves it less available equity


def test_pct_change_grows_or_shrinks_each_position_and_sizes_the_order(advisor, connect):
    client = connect(advisor)
    for account, quantity in ((A, 100), (B, 41)):
        own = order("BUY", quantity)
        own.account = account
        place(client, own)
    order_id, since = place(client, group_order("BUY", 0, "Three", "PctChange", "50"))
    assert [q for a, q in executions(client, since) if a != ADVISOR] == [50, 20]  # 20.5 down
    echoed = client.of("openOrder", since, orderId=order_id)[-1].order
    assert echoed.totalQuantity == 70 and echoed.faGroup == "Three"
    _, since = place(client, group_order("SELL", 0, "Three", "PctChange", "-100"))
    assert [(a, q) for a, q in executions(client, since) if a != ADVISOR] == [(A, 150), (B, 61)]
    assert positions(client) == {A: 0, B: 0}


def test_a_refused_group_order_is_refused_as_tws_refuses_it(advisor, connect):
    client = connect(advisor)
    since = client.mark()
    cases = [
        (group_order("BUY", 10, "Nope"), 321, "Invalid group name 'Nope'"),
        (group_order("BUY", 0, "Two", "PctChange", ""), 321, "faPercentage"),
        (group_order("BUY", 0, "Two", "PctChange", "50"), 321, "holds a position"),
        (group_order("BUY", 10, "Two", "Ratio"), 321, "not played"),
    ]
    both = group_order("BUY", 10, "Two")
    both.account = A
    cases.append((both, 201, "Invalid account number."))
    for o, code, text in cases:
        order_id = client.next_id()  # a refused order leaves its id free: the same each time
        mark = client.mark()
        client.placeOrder(order_id, stock("AAPL"), o)
        refusal = client.wait_error(code, mark, reqId=order_id)
        assert text in refusal.errorString
    client.sync()
    assert client.of("execDetails", since) == [] and positions(client) == {}


def test_a_sub_account_order_touches_no_other_account(advisor, connect):
    client = connect(advisor)
    before = summary(client, "TotalCashValue")
    own = order("BUY", 12)
    own.account = B
    _, since = place(client, own)
    assert executions(client, since) == [(B, 12)]
    assert positions(client) == {B: 12}
    after = summary(client, "TotalCashValue")
    assert {a: after[a] for a in (ADVISOR, A, C)} == {a: before[a] for a in (ADVISOR, A, C)}
    assert after[B] < before[B]


def test_a_partial_fill_is_split_by_what_each_account_still_has_to_get(sim_factory, connect):
    sim = sim_factory(server_version=NEWEST, accounts=[A, B], fa_groups={"Two": [A, B]},
                      display_size=Decimal(30))  # fmt: skip
    client = connect(sim)
    order_id = client.next_id()
    since = client.mark()
    client.placeOrder(order_id, stock("AAPL"), group_order("BUY", 101, "Two"))
    client.wait("execDetails", since)
    while not client.of("orderStatus", since, orderId=order_id, status="Filled"):
        sim.advance(1)
        client.sync()
    got = executions(client, since)
    assert got[:2] == [(A, 15), (B, 15)]  # 30 of 101: 51 and 50 still owed
    totals: dict[str, Decimal] = {}
    for account, shares in got:
        totals[account] = totals.get(account, Decimal(0)) + shares
    assert totals == {A: 51, B: 50}
    assert [e.execution.cumQty for e in client.of("execDetails", since)
            if e.execution.acctNumber == A][-1] == 51  # fmt: skip


def test_a_modified_group_order_is_split_again_by_its_new_size(advisor, connect):
    client = connect(advisor)
    working = group_order("BUY", 10, "Two")
    working.orderType, working.lmtPrice = "LMT", 100.0  # far below the market: it rests
    order_id = client.next_id()
    since = client.mark()
    client.placeOrder(order_id, stock("AAPL"), working)
    client.wait_status(order_id, "Submitted", since)
    working.totalQuantity, working.lmtPrice = Decimal(21), 200.0  # now marketable
    client.placeOrder(order_id, stock("AAPL"), working)
    client.wait_status(order_id, "Filled", since)
    client.sync()
    assert [(a, q) for a, q in executions(client, since) if a != ADVISOR] == [(A, 11), (B, 10)]


# --------------------------------------------------------------------------- requestFA


def test_request_fa_answers_the_groups_and_aliases_as_tws_writes_them(advisor, connect):
    client = connect(advisor)
    since = client.mark()
    client.requestFA(1)
    groups = client.wait("receiveFA", since)
    assert groups.faData == 1
    assert groups.cxml == (
        f"{XML_HEAD}\n<ListOfGroups>\n\t<Group>\n\t\t<name>Two</name>\n"
        "\t\t<defaultMethod>EqualQuantity</defaultMethod>\n"
        '\t\t<ListOfAccts varName="list">\n'
        f"\t\t\t<Account>\n\t\t\t\t<acct>{A}</acct>\n\t\t\t</Account>\n"
        f"\t\t\t<Account>\n\t\t\t\t<acct>{B}</acct>\n\t\t\t</Account>\n"
        "\t\t</ListOfAccts>\n\t</Group>\n"
        "\t<Group>\n\t\t<name>Three</name>\n\t\t<defaultMethod>EqualQuantity</defaultMethod>\n"
        '\t\t<ListOfAccts varName="list">\n'
        f"\t\t\t<Account>\n\t\t\t\t<acct>{A}</acct>\n\t\t\t</Account>\n"
        f"\t\t\t<Account>\n\t\t\t\t<acct>{B}</acct>\n\t\t\t</Account>\n"
        f"\t\t\t<Account>\n\t\t\t\t<acct>{C}</acct>\n\t\t\t</Account>\n"
        "\t\t</ListOfAccts>\n\t</Group>\n</ListOfGroups>\n"
    )
    since = client.mark()
    client.requestFA(3)
    aliases = client.wait("receiveFA", since)
    assert aliases.faData == 3 and f"<account>{C}</account>\n\t\t<alias>{C}</alias>" in aliases.cxml


def test_replace_fa_sets_groups_and_their_methods(advisor, connect):
    """TWS reads both shapes of the XML; orders then allocate by the new definitions."""
    client = connect(advisor)
    xml = (
        f"{XML_HEAD}<ListOfGroups>"
        f"<Group><name>Pair</name><defaultMethod>AvailableEquity</defaultMethod>"
        f'<ListOfAccts varName="list"><Account><acct>{B}</acct></Account>'
        f"<Account><acct>{C}</acct></Account></ListOfAccts></Group>"
        f'<Group><name>Old</name><ListOfAccts varName="list"><String>{C}</String>'
        f"<String>{A}</String></ListOfAccts><defaultMethod>Equal</defaultMethod></Group>"
        "</ListOfGroups>"
    )
    since = client.mark()
    client.replaceFA(41, 1, xml)
    end = client.wait("replaceFAEnd", since)
    assert (end.reqId, end.text) == (41, "")
    since = client.mark()
    client.requestFA(1)
    listed = client.wait("receiveFA", since).cxml
    assert "<name>Pair</name>" in listed and "<name>Two</name>" not in listed
    assert "<defaultMethod>Equal</defaultMethod>" in listed  # as it was spelled
    _, since = place(client, group_order("BUY", 11, "Old"))
    assert [(a, q) for a, q in executions(client, since) if a != ADVISOR] == [(C, 6), (A, 5)]
    since = client.mark()
    client.replaceFA(42, 1, xml.replace(C, "DU999"))
    refusal = client.wait_error(321, since, reqId=42)
    assert "'DU999' is not an account of this login" in refusal.errorString
    order_id = client.next_id()
    since = client.mark()
    client.placeOrder(order_id, stock("AAPL"), group_order("BUY", 1, "Two"))
    assert "Invalid group name 'Two'" in client.wait_error(321, since).errorString


def test_a_login_that_is_no_advisors_refuses_fa_data(sim_factory, connect, version):
    client = connect(sim_factory(server_version=version))  # one account, no group
    since = client.mark()
    client.requestFA(1)
    assert client.wait_error(321, since, reqId=-1).errorString == NOT_FA
    client.replaceFA(43, 1, f"{XML_HEAD}<ListOfGroups/>")
    assert client.wait_error(321, since, reqId=43).errorString == NOT_FA
    client.sync()
    assert client.of("receiveFA", since) == [] and client.of("connectionClosed") == []


def test_profiles_are_groups_now(sim_factory, connect):
    """Below 177 ibapi still sends requestFA(2); a TWS with groups and profiles unified
    refuses it."""
    client = connect(sim_factory(server_version=176, accounts=[A, B]))
    since = client.mark()
    client.requestFA(2)
    refusal = client.wait_error(321, since, reqId=-1)
    assert refusal.errorString.endswith("cause - Non-existent FA data operation request.")


# --------------------------------------------------------------------------- multi views


def test_account_updates_multi_for_a_group_then_updates_and_cancel(advisor, connect):
    client = connect(advisor)
    since = client.mark()
    client.reqAccountUpdatesMulti(51, "Two", "", False)
    client.wait("accountUpdateMultiEnd", since, reqId=51)
    rows = client.of("accountUpdateMulti", since, reqId=51)
    assert client.names(since)[-1] == "accountUpdateMultiEnd"
    assert {r.account for r in rows} == {A, B}  # per account, never the group summed
    first = rows[0]
    assert (first.account, first.modelCode, first.key, first.value, first.currency) == (
        A, "", "AccountCode", A, "",
    )  # fmt: skip
    net = {r.account: r.value for r in rows if r.key == "NetLiquidation"}
    assert net == {A: "1000000.00", B: "1000000.00"}
    assert {r.currency for r in rows if r.key == "TotalCashValue"} == {"USD"}

    since = client.mark()
    own = order("BUY", 5)
    own.account = B
    place(client, own)
    updated = client.of("accountUpdateMulti", since, reqId=51)
    assert updated and {r.account for r in updated} == {B}
    client.cancelAccountUpdatesMulti(51)
    client.sync()
    since = client.mark()
    place(client, own)
    assert client.of("accountUpdateMulti", since) == [] and client.errors(since) == []


def test_account_updates_multi_ledger_only_and_refusals(advisor, connect):
    client = connect(advisor)
    since = client.mark()
    client.reqAccountUpdatesMulti(52, A, "", True)
    client.wait("accountUpdateMultiEnd", since, reqId=52)
    keys = {r.key for r in client.of("accountUpdateMulti", since, reqId=52)}
    assert keys == {"AccountCode", "NetLiquidation", "TotalCashValue", "SettledCash",
                    "AccruedCash", "UnrealizedPnL", "RealizedPnL"}  # fmt: skip
    client.reqAccountUpdatesMulti(52, A, "", False)
    assert "Duplicate ticker id" in client.wait_error(322, since, reqId=52).errorString
    client.reqAccountUpdatesMulti(53, "DU999", "", False)
    assert client.wait_error(321, since, reqId=53).errorString.endswith("Invalid account code")
    client.reqPositionsMulti(54, A, "Model1")
    assert client.wait_error(321, since, reqId=54).errorString.endswith("Invalid model code")


def test_positions_multi_per_account_with_end_updates_and_cancel(advisor, connect):
    client = connect(advisor)
    place(client, group_order("BUY", 9, "Two"))
    since = client.mark()
    client.reqPositionsMulti(61, "All", "")
    client.wait("positionMultiEnd", since, reqId=61)
    rows = client.of("positionMulti", since, reqId=61)
    assert [(r.account, r.contract.conId, r.pos) for r in rows] == [(A, AAPL, 5), (B, AAPL, 4)]
    assert all(r.modelCode == "" and r.avgCost > 0 for r in rows)
    assert client.names(since)[-1] == "positionMultiEnd"
    since = client.mark()
    own = order("SELL", 2)
    own.account = A
    place(client, own)
    [update] = client.of("positionMulti", since, reqId=61)
    assert (update.account, update.pos) == (A, 3)
    client.cancelPositionsMulti(61)
    client.sync()
    since = client.mark()
    place(client, own)
    assert client.of("positionMulti", since) == []


def test_account_summary_of_a_group_lists_its_accounts(advisor, connect):
    client = connect(advisor)
    since = client.mark()
    client.reqAccountSummary(71, "Two", "NetLiquidation")
    client.wait("accountSummaryEnd", since, reqId=71)
    rows = client.of("accountSummary", since, reqId=71)
    assert [(r.account, r.tag) for r in rows] == [(A, "NetLiquidation"), (B, "NetLiquidation")]


def test_cancel_historical_ticks_is_accepted_as_tws_accepts_it(sim_factory, connect):
    """ibapi sends it as protobuf only; the ticks were answered whole: nothing to say."""
    client = connect(sim_factory(server_version=NEWEST))
    since = client.mark()
    client.cancelHistoricalTicks(81)
    client.sync()
    assert client.errors(since) == [] and client.of("connectionClosed") == []


# --------------------------------------------------------------------------- updatePortfolio


def test_account_updates_send_update_portfolio_for_every_position(sim_factory, connect,
                                                                    server_version):  # fmt: skip
    """Each position of the account, every field as TWS derives it (at every version)."""
    sim = sim_factory(server_version=server_version, accounts=[A, B])
    client = connect(sim)
    fills = {}
    for contract, quantity, account in ((stock("AAPL"), 30, A), (stock("MSFT"), 7, A),
                                        (stock("AAPL"), 4, B)):  # fmt: skip
        o = order("BUY", quantity)
        o.account = account
        _, since = place(client, o, contract)
        execution = client.wait("execDetails", since).execution
        fee = client.wait("commissionAndFeesReport", since).commissionAndFeesReport
        fills[(account, contract.symbol)] = (execution.price, fee.commissionAndFees, quantity)
    since = client.mark()
    client.reqAccountUpdates(True, A)
    client.wait("accountDownloadEnd", since)
    items = {p.contract.symbol: p for p in client.of("updatePortfolio", since)}
    assert set(items) == {"AAPL", "MSFT"} and {p.accountName for p in items.values()} == {A}
    for symbol, item in items.items():
        price, fee, quantity = fills[(A, symbol)]
        mark = sim.exchange._mark(item.contract.conId)
        cost = (quantity * price + fee) / quantity
        assert item.position == quantity and item.marketPrice == mark
        assert item.marketValue == pytest.approx(quantity * mark)
        assert item.averageCost == pytest.approx(cost)
        assert item.unrealizedPNL == pytest.approx(quantity * (mark - cost))
        assert item.realizedPNL == 0.0
        assert item.contract.secType == "STK" and item.contract.currency == "USD"
        listing = item.contract.primaryExchange or item.contract.exchange
        assert listing in ("NASDAQ", "NYSE") and item.contract.exchange != "SMART"
    values = client.of("updateAccountValue", since)
    assert (values[0].key, values[0].val, values[0].accountName) == ("AccountCode", A, A)


# --------------------------------------------------------------------------- twsapp sim


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("Growth", "not NAME=ACCOUNT,ACCOUNT[:METHOD]"),
        ("Growth=", "not NAME=ACCOUNT,ACCOUNT[:METHOD]"),
        ("Growth=DU111,DU999", "'DU999' is not an account of this login"),
        ("Growth=DU111,DU111", "lists an account twice"),
        ("Growth=DU111:Mystery", "unknown allocation method 'Mystery'"),
        ("Growth=DU111:Ratio", "not played by the twsapp simulator"),
    ],
)
def test_a_bad_fa_group_option_is_refused_naming_it(spec, problem):
    import argparse

    from twsapp.sim.cli import OPTION_OF, add_arguments, settings_from
    from twsapp.sim.inputs import SimInputError

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--accounts", "DU111,DU222", "--fa-group", spec])
    with pytest.raises(SimInputError) as caught:
        SimServer(settings_from(args))
    exc = caught.value
    option = OPTION_OF.get(exc.setting or "")  # as ``twsapp sim`` prints it
    shown = exc.named(option) if option else str(exc)
    assert shown.startswith("--fa-group ") and problem in shown


def test_fa_group_options_set_the_groups_and_their_methods():
    import argparse

    from twsapp.sim.cli import add_arguments, settings_from

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--accounts", "DU111,DU222", "--fa-group", "G=DU111,DU222:NetLiq",
                              "--fa-group", "H=DU222"])  # fmt: skip
    sim = SimServer(settings_from(args))
    groups = sim.exchange.fa_groups
    assert [(g.name, g.accounts, g.method) for g in groups.values()] == [
        ("G", (A, B), "NetLiq"), ("H", (B,), "EqualQuantity"),
    ]  # fmt: skip
