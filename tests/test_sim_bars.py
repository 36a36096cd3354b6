"""Replaying bars from a CSV instead of the seeded walk: from settings, the CLI and the config."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from twsapp.config import config_from_dict
from twsapp.orders import market_order
from twsapp.sim.server import SimServer, SimSettings

AAPL = 265598


@pytest.fixture
def bars_csv(tmp_path):
    path = tmp_path / "aapl.csv"
    path.write_text(
        textwrap.dedent(
            """\
            time,open,high,low,close,volume
            0,201.00,201.50,200.50,201.20,1000
            60,201.20,202.00,201.00,201.90,1000
            120,201.90,202.40,201.80,202.30,1000
            """
        )
    )
    return path


def test_the_sim_prices_an_instrument_from_its_bars(sim_factory, app_factory, bars_csv):
    sim = sim_factory(bars={"AAPL": str(bars_csv)})
    assert sim.exchange.prices.price_at(AAPL, 0) == pytest.approx(201.00)
    assert sim.exchange.prices.price_at(AAPL, 180) == pytest.approx(202.30)
    app = app_factory(sim)
    record = app.place("AAPL", market_order("BUY", 5))
    app.current_time()  # a round trip: every earlier message has been handled
    fill = app.book.get(record.order_id)
    assert fill.status == "Filled"
    assert 200.9 <= fill.avg_fill_price <= 201.1  # around the first bar's open, not ~150


def test_bars_must_name_one_instrument(bars_csv):
    with pytest.raises(ValueError, match="name one instrument"):
        SimServer(SimSettings(port=0, speed=0, bars={"NOPE": str(bars_csv)}))


def test_the_cli_takes_bars(bars_csv):
    proc = subprocess.run(
        [sys.executable, "-m", "twsapp", "sim", "--port", "0", "--bars", "AAPL"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode != 0 and "SYMBOL=path" in proc.stderr


def test_the_config_takes_bars(tmp_path, bars_csv):
    config = config_from_dict({"sim": {"bars": {"AAPL": str(bars_csv)}}}, base_dir=tmp_path)
    assert dict(config.sim.bars) == {"AAPL": bars_csv}
    with pytest.raises(ValueError, match=r"sim\.bars\.IBM"):
        config_from_dict({"sim": {"bars": {"IBM": "missing.csv"}}}, base_dir=tmp_path)
