"""ib_async (a third-party client that speaks server versions up to 178) logs in to the
simulator with two accounts: its connect sequence (ib.py ``connectAsync``: positions, open and
completed orders, reqAccountUpdates for the account it is given, reqAccountUpdatesMulti for
every managed account, then executions) completes without a request timing out, and it sees
the portfolio and the values of both accounts.

Before the simulator answered reqAccountUpdatesMulti, ib_async waited out its timeout for each
account ("account updates for DU... request timed out"): TWS's 321 is a warning to it, which
does not end the request. Without an ``account``, ib_async asks no reqAccountUpdates when a
login manages several accounts, so its portfolio stays empty against real TWS as well
(ib-api-reloaded/ib_async issue 72); the account is given here, as ib_async's docs say to.
"""

from __future__ import annotations

import pytest
from sim_client import order, stock

ib_async = pytest.importorskip("ib_async")

A, B = "DU111", "DU222"


@pytest.fixture
def filled(sim_factory, connect):
    """A simulator with two accounts, each holding AAPL bought by another client."""
    sim = sim_factory(accounts=[A, B])
    client = connect(sim, client_id=5)
    for account, quantity in ((A, 10), (B, 20)):
        o = order("BUY", quantity)
        o.account = account
        order_id = client.next_id()
        since = client.mark()
        client.placeOrder(order_id, stock("AAPL"), o)
        client.wait_status(order_id, "Filled", since)
    client.sync()
    return sim


@pytest.mark.parametrize("account", [B, ""], ids=["with-account", "without"])
def test_ib_async_connects_without_timeouts_and_sees_both_accounts(filled, account):
    ib = ib_async.IB()
    try:
        # raiseSyncErrors: a request that times out during connect raises instead of logging
        ib.connect("127.0.0.1", filled.port, clientId=7, timeout=5, account=account,
                   raiseSyncErrors=True)  # fmt: skip
        assert ib.client.serverVersion() == 178
        assert sorted(ib.managedAccounts()) == [A, B]
        held = {(p.account, p.contract.conId): p.position for p in ib.positions()}
        assert held == {(A, 265598): 10.0, (B, 265598): 20.0}
        net = {v.account for v in ib.accountValues() if v.tag == "NetLiquidation"}
        assert net == {A, B}  # reqAccountUpdatesMulti answered for each account
        if account:
            [item] = ib.portfolio(account)
            assert (item.account, item.contract.conId, item.position) == (B, 265598, 20.0)
            assert item.marketPrice > 0 and item.averageCost > 0
        else:
            assert ib.portfolio() == []  # as against real TWS: nobody asked for it
    finally:
        ib.disconnect()
