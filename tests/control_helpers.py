"""A control API served for real (uvicorn on a loopback port) over an app connected to the
simulator, and an httpx client that carries its token."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from app_helpers import WAIT

from twsapp.config import ControlConfig, RiskConfig
from twsapp.control import ControlServer
from twsapp.pnl import LastFillPrices
from twsapp.session import TwsApp
from twsapp.sim.server import SimServer, SimSettings

FA_ACCOUNTS = ["DU111111", "DU222222"]
GROUP = "video_group"


@dataclass
class Served:
    sim: SimServer
    app: TwsApp
    server: ControlServer
    client: httpx.Client
    prices: LastFillPrices

    def sent(self) -> int:
        """placeOrder messages that reached the simulator (from this app's client id)."""
        from app_helpers import barrier, placed_ids

        barrier(self.app)
        return len(placed_ids(self.sim, self.app.client_id))


@contextmanager
def served(
    folder: Path, risk: RiskConfig, client_id: int = 1, **sim_settings: object
) -> Iterator[Served]:
    settings = {"accounts": list(FA_ACCOUNTS), **sim_settings}
    if settings["accounts"] == FA_ACCOUNTS:  # the advisor login of the lessons, with its group
        settings.setdefault("fa_groups", {GROUP: list(FA_ACCOUNTS)})
    sim = SimServer(SimSettings(port=0, speed=0.0, **settings)).start()  # type: ignore[arg-type]
    prices = LastFillPrices()
    app = TwsApp(request_timeout=WAIT, risk=risk, prices=prices)  # groups: requestFA
    server = None
    try:
        app.start("127.0.0.1", sim.port, client_id, WAIT)
        app.sync()  # as the run does before serving: positions stream from here on
        config = ControlConfig(port=0, token_file=folder / "control.token")
        server = ControlServer(config).bind().serve(app, prices=prices)
        headers = {"Authorization": f"Bearer {server.token}"}
        with httpx.Client(base_url=f"{server.url}/v1/api", headers=headers, timeout=WAIT) as c:
            yield Served(sim, app, server, c, prices)
    finally:
        if server is not None:
            server.close()
        app.stop()
        sim.stop()
