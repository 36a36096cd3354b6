"""An independent ibapi program of an advisor (tests/programs/fa_group_app.py) places a group
order on ``twsapp sim --fa-group ...`` run as a user runs it (two processes, a real socket) and
sees TWS's callbacks: the groups XML, the order's status, the advisor's block execution and one
execution per account with their commission reports, and positions per account."""

from __future__ import annotations

import pytest
from program_runner import errors, run_program
from versions import FAST_VERSIONS


@pytest.mark.parametrize("version", FAST_VERSIONS, ids=lambda v: f"v{v}")
def test_a_plain_ibapi_program_places_an_fa_group_order(version):
    lines = run_program(
        "fa_group_app.py", "--server-version", str(version),
        "--accounts", "DF1000,DU111,DU222,DU333",
        "--fa-group", "Pair=DU111,DU222", "--fa-group", "All3=DU111,DU222,DU333:NetLiq",
    )  # fmt: skip
    assert not errors(lines)
    assert ["managedAccounts", "DF1000,DU111,DU222,DU333"] in lines
    groups = [line[1:] for line in lines if line[0] == "group"]
    assert groups == [["Pair", "EqualQuantity", "DU111,DU222"],
                      ["All3", "NetLiq", "DU111,DU222,DU333"]]  # fmt: skip
    opened = [line for line in lines if line[0] == "openOrder"]
    assert opened and all(line[2:4] == ["Pair", "101"] for line in opened)
    assert any(line[1:3] == [opened[0][1], "Filled"] and line[3] == "101" for line in lines
               if line[0] == "orderStatus")  # fmt: skip
    execs = [line for line in lines if line[0] == "execDetails"]
    assert [(e[2], e[3]) for e in execs] == [("DF1000", "101"), ("DU111", "51"), ("DU222", "50")]
    assert {e[1] for e in execs} == {opened[0][1]}
    reports = {line[1]: float(line[2]) for line in lines if line[0] == "commissionReport"}
    assert set(reports) == {e[5] for e in execs}
    assert reports[execs[0][5]] == pytest.approx(reports[execs[1][5]] + reports[execs[2][5]])
    held = {line[1]: line[3] for line in lines if line[0] == "position"}
    assert held == {"DU111": "51", "DU222": "50"}
    assert lines[-1] == ["positionEnd"]
