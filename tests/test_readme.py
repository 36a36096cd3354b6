"""The README's Python API example runs as written (host and port aside) against the simulator."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

from app_helpers import order_requests

from twsapp.sim import messages as m

README = Path(__file__).parent.parent / "README.md"


def python_api_example() -> str:
    text = README.read_text()
    section = text[text.index("## Python API") :]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "the README's Python API section has no python block"
    return match.group(1)


def test_the_python_api_example_runs(sim):
    code = python_api_example()
    assert '"127.0.0.1", 7497' in code  # what a reader copies: TWS's paper port
    code = code.replace('"127.0.0.1", 7497', f'"127.0.0.1", {sim.port}')
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, str(README), "exec"), {})
    assert sim.wait_detached(1)  # the example's stop(): every message it sent is in
    kinds = [type(r) for r in order_requests(sim, 1)]
    assert kinds == [m.PlaceOrder, m.PlaceOrder, m.CancelOrder]  # place, modify, cancel
    assert (
        "auxPrice modify of order 1 refused: a LMT order has no stop price (stop_price=)"
        in out.getvalue()
    )
