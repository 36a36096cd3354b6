"""The golden data: real TWS messages captured by other projects (tests/fixtures).

A copy of the shared fixture lives in the repository so the golden tests run on any clone; a
missing file is an error, never a reason to skip.
"""

from __future__ import annotations

import json
from pathlib import Path

CAPTURES_PATH = Path(__file__).resolve().parent / "fixtures" / "tws-captures.json"


def load_captures() -> list[dict]:
    return json.loads(CAPTURES_PATH.read_text(encoding="utf-8"))["captures"]
