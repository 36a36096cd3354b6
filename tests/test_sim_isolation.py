"""The simulator is its own world: it never imports the application it stands in for TWS for.

Checked two ways: statically (every import statement in twsapp/sim, including ones inside
functions) and dynamically (what importing every simulator module really loads).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

SIM = Path(__file__).resolve().parents[1] / "twsapp" / "sim"
MODULES = sorted(SIM.glob("*.py"))
THIRD_PARTY = {"ibapi", "google"}  # google: google.protobuf only, checked below


def _imports(path: Path) -> list[tuple[str, int]]:
    """(absolute module name, line) of every import in one simulator module."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                found.append((node.module or "", node.lineno))
            elif node.level == 1:  # relative to twsapp.sim
                found.append((f"twsapp.sim.{node.module}" if node.module else "twsapp.sim", 0))
            else:  # "from .. import x" reaches out of the simulator, into twsapp
                parts = [node.module] if node.module else [a.name for a in node.names]
                found += [(f"twsapp.{part}", node.lineno) for part in parts]
    return found


def _allowed(name: str) -> bool:
    top = name.split(".")[0]
    if top == "twsapp":
        return name == "twsapp.sim" or name.startswith("twsapp.sim.")
    if top == "google":
        return name == "google.protobuf" or name.startswith("google.protobuf.")
    return top in sys.stdlib_module_names or top in THIRD_PARTY or top == "__future__"


def test_there_are_simulator_modules_to_check():
    assert len(MODULES) > 10 and SIM / "server.py" in MODULES


@pytest.mark.parametrize("path", MODULES, ids=[p.name for p in MODULES])
def test_simulator_module_imports_only_stdlib_ibapi_protobuf_and_itself(path):
    bad = [f"{name} (line {line})" for name, line in _imports(path) if not _allowed(name)]
    assert bad == [], f"{path.name} imports outside the simulator's world"


def test_the_checker_would_catch_an_app_import(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("from twsapp import orders\nfrom .. import book\nimport pandas\n")
    names = [name for name, _ in _imports(sample)]
    assert [n for n in names if not _allowed(n)] == ["twsapp", "twsapp.book", "pandas"]


def test_importing_the_simulator_loads_nothing_of_the_app():
    modules = [f"twsapp.sim.{p.stem}" for p in MODULES if p.stem != "__init__"]
    script = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=SIM.parents[1],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    loaded = json.loads(out.stdout)
    assert "twsapp.sim.server" in loaded
    app = [m for m in loaded if m.startswith("twsapp.") and not m.startswith("twsapp.sim")]
    assert app == []
    tops = {m.split(".")[0] for m in loaded}
    foreign = sorted(
        t
        for t in tops - set(sys.stdlib_module_names) - THIRD_PARTY - {"twsapp"}
        if not t.startswith("_")
    )
    assert foreign == []
    google = [m for m in loaded if m.split(".")[0] == "google"]
    # protobuf's own C extension lives at google._upb
    assert all(
        m.split(".")[:2] in (["google"], ["google", "protobuf"], ["google", "_upb"]) for m in google
    )
