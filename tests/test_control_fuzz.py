"""Requests generated from the control API's own OpenAPI schema (schemathesis), valid and
invalid, against the API serving an app on the simulator: whatever comes in, never a 5xx.

Bounded: a fixed number of examples per operation, derandomized, so a run costs the same
every time (a few hundred requests in all, most of them in the slow set); the simulator's pacing is off, as the fuzz sends orders faster than a person."""

from __future__ import annotations

import pytest
import schemathesis
from control_helpers import served
from hypothesis import HealthCheck, settings

from twsapp.config import RiskConfig
from twsapp.control.api import ControlState, create_app
from twsapp.session import TwsApp

FAST_EXAMPLES = 8  # per operation (13 of them): ~100 requests in `make test`
SLOW_EXAMPLES = 25  # ~300 more in the slow set (CI)

# The schema does not depend on the app's state: an unconnected app gives the same one.
RAW = create_app(ControlState(TwsApp()), "unused").openapi()
SCHEMA = schemathesis.openapi.from_dict(RAW)
SCHEMA.config.generation.update(
    modes=[schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE]
)


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory):
    risk = RiskConfig(confirm="ask")
    with served(tmp_path_factory.mktemp("fuzz"), risk, pacing=False) as s:
        yield s


def _check(case, fuzzed) -> None:
    headers = {"Authorization": f"Bearer {fuzzed.server.token}"}
    response = case.call(base_url=fuzzed.server.url, headers=headers, timeout=30)
    assert response.status_code < 500, (case.method, case.formatted_path, case.body,
                                        response.text)  # fmt: skip
    if response.status_code >= 400:
        assert "error" in response.json(), response.text


FUZZ = {"deadline": None, "derandomize": True, "database": None,
        "suppress_health_check": list(HealthCheck)}  # fmt: skip


@SCHEMA.parametrize()
@settings(max_examples=FAST_EXAMPLES, **FUZZ)
def test_no_request_gets_a_5xx(case, fuzzed):
    _check(case, fuzzed)


@pytest.mark.slow
@SCHEMA.parametrize()
@settings(max_examples=SLOW_EXAMPLES, **FUZZ)
def test_no_request_gets_a_5xx_at_length(case, fuzzed):
    _check(case, fuzzed)
