"""Shared fixtures: a simulator on a free loopback port, and apps connected to it."""

from __future__ import annotations

import pytest
from versions import FAST_VERSIONS, MATRIX_VERSIONS

from twsapp.sim.server import SimServer, SimSettings


def _versions() -> list:
    params = []
    for v in MATRIX_VERSIONS:
        marks = [] if v in FAST_VERSIONS else [pytest.mark.slow]
        params.append(pytest.param(v, marks=marks, id=f"v{v}"))
    return params


VERSION_PARAMS = _versions()


@pytest.fixture(autouse=True)
def _no_run_left_behind():
    """A `twsapp run` a test started and did not end (it failed first) is killed here."""
    yield
    from run_helpers import Running

    while Running.started:
        running = Running.started.pop()
        if running.proc.poll() is None:
            running.proc.kill()
            running.proc.wait(10)


@pytest.fixture(params=VERSION_PARAMS)
def server_version(request) -> int:
    return request.param


@pytest.fixture
def sim_factory():
    servers: list[SimServer] = []

    def make(**overrides) -> SimServer:
        settings = SimSettings(port=0, speed=0.0)
        server = SimServer(settings, **overrides).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def sim(sim_factory, server_version) -> SimServer:
    return sim_factory(server_version=server_version)


@pytest.fixture
def app_factory():
    from twsapp.session import TwsApp

    apps: list[TwsApp] = []

    def make(server: SimServer, client_id: int = 1, timeout: float = 10.0) -> TwsApp:
        app = TwsApp(request_timeout=timeout)
        app.start("127.0.0.1", server.port, client_id, timeout=timeout)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.stop()


@pytest.fixture
def app(app_factory, sim):
    return app_factory(sim)


@pytest.fixture
def connect():
    """Raw ibapi clients (tests/sim_client.py) connected to a simulator; stopped afterwards."""
    from sim_client import SimClient

    clients: list = []

    def make(server: SimServer, client_id: int = 1, wait_ready: bool = True):
        client = SimClient().start(server.port, client_id, wait_ready)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.stop()


@pytest.fixture
def client(sim, connect):
    return connect(sim)
