"""Safety in TwsApp itself, not only in the config: loopback hosts only, no live port and no live
account unless asked for, the default account (tws.account) applied and checked, FA groups."""

from __future__ import annotations

import ibapi.connection
import pytest
from app_helpers import Events, barrier, order_requests, placed_ids

from twsapp.exceptions import ConnectError, OrderRefused
from twsapp.orders import limit_order
from twsapp.session import TwsApp, is_paper_account
from twsapp.sim import messages as m


class NoNetwork:
    """Stands in for the OS socket module under ibapi's Connection: records every socket made
    and every address connected to, and connects nowhere (refused). A test of a refusal thus
    can never reach another machine, or a live TWS on this one, even when the check is broken.
    """

    error = OSError
    timeout = TimeoutError

    def __init__(self) -> None:
        self.created = 0
        self.attempts: list[tuple] = []
        outer = self

        class Socket:
            def __init__(self, *args: object) -> None:
                outer.created += 1

            def connect(self, address: tuple) -> None:
                outer.attempts.append(address)
                raise ConnectionRefusedError("test: no network")

            def settimeout(self, value: float) -> None:
                pass

            def send(self, data: bytes) -> int:
                raise BrokenPipeError("test: not connected")

            def recv(self, size: int) -> bytes:
                raise ConnectionResetError("test: not connected")

            def shutdown(self, how: int) -> None:
                raise OSError("test: not connected")

            def close(self) -> None:
                pass

        self.socket = Socket


@pytest.fixture
def no_network(monkeypatch) -> NoNetwork:
    fake = NoNetwork()
    monkeypatch.setattr(ibapi.connection, "socket", fake)
    return fake


def wire_requests(sim, client_id: int) -> list[m.Request]:
    """Everything the client sent after startApi (startApi itself is recorded without an id)."""
    return sim.received(client_id)


# ---------------------------------------------------------------------- before any socket


@pytest.mark.parametrize(
    "host", ["10.255.255.1", "192.168.1.20", "tws.example.com", "0.0.0.0", "::ffff:10.0.0.1"]
)
def test_a_host_off_this_machine_is_refused_before_any_socket(no_network, host):
    app = TwsApp()
    with pytest.raises(ConnectError) as caught:
        app.start(host, 7497, 1, timeout=30)
    text = str(caught.value)
    assert f"{host}:7497" in text and "not a loopback address" in text
    assert "SSH tunnel" in text and "nothing was opened" in text
    assert no_network.created == 0 and no_network.attempts == []
    assert app.ibapi.conn is None and app.threads() == []


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost"])
def test_a_loopback_host_passes_the_check(no_network, host):
    """The check lets loopback through: the (fake) socket is asked to connect, and refuses."""
    app = TwsApp()
    with pytest.raises(ConnectError, match="refused") as caught:
        app.start(host, 7497, 1, timeout=30)
    assert "loopback" not in str(caught.value)
    assert no_network.attempts == [(host, 7497)]


@pytest.mark.parametrize(("port", "kind"), [(7496, "TWS"), (4001, "IB Gateway")])
def test_a_live_port_is_refused_unless_live(no_network, port, kind):
    app = TwsApp()
    with pytest.raises(ConnectError) as caught:
        app.start("127.0.0.1", port, 1, timeout=30)
    text = str(caught.value)
    assert f"127.0.0.1:{port}" in text and f"{port} is the live {kind} port" in text
    assert "7497 TWS, 4002 IB Gateway" in text and "live = true in [tws]" in text
    assert no_network.created == 0 and no_network.attempts == []
    # refused before anything was touched: the same app may still be started, with live=True
    with pytest.raises(ConnectError, match="refused"):
        app.start("127.0.0.1", port, 1, timeout=30, live=True)
    assert no_network.attempts == [("127.0.0.1", port)]


def test_paper_accounts_are_the_d_accounts():
    assert all(map(is_paper_account, ["DU1234567", "DF1234567", "DI1234567"]))
    assert not any(map(is_paper_account, ["U1234567", "F1234567", "I1234567", ""]))


# ---------------------------------------------------------------------- after managedAccounts


@pytest.mark.parametrize(
    ("accounts", "live_ones"),
    [(["U1234567"], "U1234567"), (["DU111", "U222", "F333"], "U222, F333")],
)
def test_a_live_account_is_refused_unless_live(sim_factory, server_version, accounts, live_ones):
    sim = sim_factory(server_version=server_version, accounts=accounts)
    app = TwsApp(request_timeout=10)
    with pytest.raises(ConnectError) as caught:
        app.start("127.0.0.1", sim.port, 7, timeout=10)
    text = str(caught.value)
    assert f"live account {live_ones} (" in text and "DU1234567" in text
    assert "disconnected" in text and "live = true in [tws]" in text
    assert not app.ready and not app.connected and app.threads() == []
    assert sim.wait_detached(7)  # the simulator saw the socket close
    assert wire_requests(sim, 7) == []  # nothing but the handshake and startApi was sent

    allowed = TwsApp(request_timeout=10)
    try:
        allowed.start("127.0.0.1", sim.port, 7, timeout=10, live=True)
        assert allowed.ready and allowed.accounts == accounts
    finally:
        allowed.stop()


def test_paper_fa_logins_connect(sim_factory):
    sim = sim_factory(accounts=["DF100", "DU101", "DU102"])
    app = TwsApp(request_timeout=10)
    try:
        assert app.start("127.0.0.1", sim.port, 1, timeout=10).ready
    finally:
        app.stop()


# ---------------------------------------------------------------------- default account


@pytest.fixture
def two_accounts(sim_factory, server_version):
    return sim_factory(server_version=server_version, accounts=["DU111", "DU222"])


def lmt(account: str = "", fa_group: str = ""):
    order = limit_order("BUY", 2, 100.0, account=account)
    order.faGroup = fa_group
    return order


def connect(sim, client_id: int = 1, **kwargs) -> TwsApp:
    return TwsApp(request_timeout=10, **kwargs).start("127.0.0.1", sim.port, client_id, 10)


def test_the_default_account_goes_into_orders_that_name_none(two_accounts):
    sim = two_accounts
    app = connect(sim, default_account="DU222")
    try:
        events = Events(app)
        mine = app.place("AAPL", lmt())
        other = app.place("AAPL", lmt(account="DU111"))
        events.status(mine.order_id, "Submitted")
        events.status(other.order_id, "Submitted")
        barrier(app)
        sent = {r.order_id: r.order.account for r in order_requests(sim, 1)}
        assert sent == {mine.order_id: "DU222", other.order_id: "DU111"}
        assert (mine.account, other.account) == ("DU222", "DU111")
    finally:
        app.stop()


def test_without_a_default_account_an_order_naming_none_is_refused(two_accounts):
    sim = two_accounts
    app = connect(sim)
    try:
        with pytest.raises(OrderRefused, match="account is empty"):
            app.place("AAPL", lmt())
        barrier(app)
        assert placed_ids(sim, 1) == []
    finally:
        app.stop()


def test_a_default_account_tws_does_not_manage_is_refused_at_connect(two_accounts):
    sim = two_accounts
    app = TwsApp(request_timeout=10, default_account="DU999")
    with pytest.raises(ConnectError) as caught:
        app.start("127.0.0.1", sim.port, 1, timeout=10)
    text = str(caught.value)
    assert "'DU999' (tws.account)" in text and "(DU111, DU222)" in text
    assert "disconnected" in text
    assert not app.connected and app.threads() == []
    # only the question whether it names an advisor's group (requestFA): no order, nothing else
    assert sim.wait_detached(1) and wire_requests(sim, 1) == [m.ReqFA(1)]


# ---------------------------------------------------------------------- FA groups


def test_known_fa_groups_are_checked_before_sending(two_accounts):
    sim = two_accounts
    app = connect(sim, fa_groups=["Growth"])
    try:
        with pytest.raises(OrderRefused, match=r"faGroup 'Value' is not one of the FA groups"):
            app.place("AAPL", lmt(fa_group="Value"))
        rec = app.place("AAPL", lmt(fa_group="Growth"))
        barrier(app)
        [sent] = order_requests(sim, 1)
        assert sent.order_id == rec.order_id and sent.order.faGroup == "Growth"
        assert sent.order.account == ""  # the group allocates; no default account pushed in
    finally:
        app.stop()


def test_unknown_fa_groups_are_left_to_tws(two_accounts, monkeypatch):
    """Linked accounts that are no advisor's: TWS refuses requestFA (321 "FA data operations
    ignored for non FA customers."), so the groups stay unknown and a name is TWS's to check."""
    from twsapp.sim.advisor import AdvisorAccounts

    monkeypatch.setattr(AdvisorAccounts, "advisor_login", property(lambda self: False))
    sim = two_accounts
    app = connect(sim, default_account="DU111")
    assert app.fa_groups is None and wire_requests(sim, 1)[0] == m.ReqFA(1)
    try:
        rec = app.place("AAPL", lmt(fa_group="Anything"))
        barrier(app)
        [sent] = order_requests(sim, 1)
        assert sent.order_id == rec.order_id
        assert (sent.order.faGroup, sent.order.account) == ("Anything", "")
        with pytest.raises(OrderRefused, match="both set"):  # still a contradiction
            app.place("AAPL", lmt(fa_group="X", account="DU111"))
    finally:
        app.stop()


def test_a_default_naming_a_known_fa_group_allocates_to_it(two_accounts):
    sim = two_accounts
    app = connect(sim, default_account="Growth", fa_groups=["Growth"])
    try:
        rec = app.place("AAPL", lmt())
        barrier(app)
        [sent] = order_requests(sim, 1)
        assert sent.order_id == rec.order_id
        assert (sent.order.faGroup, sent.order.account) == ("Growth", "")
    finally:
        app.stop()


def test_a_default_naming_an_unknown_group_is_refused_at_connect(two_accounts):
    app = TwsApp(request_timeout=10, default_account="Growth")  # groups unknown: not checkable
    with pytest.raises(ConnectError, match=r"'Growth' \(tws\.account\) is not one of"):
        app.start("127.0.0.1", two_accounts.port, 1, timeout=10)
