"""The whole JSON API against the description it serves (/api/v1/openapi.json), with Schemathesis:
for every operation, requests generated from the description (positive: valid by it; negative:
invalid by it) never answer 5xx, and every answer is one the description declares, with its
content type, headers and body schema; invalid requests and missing required headers are refused
with a 4xx. (Not checked: that every valid request is accepted. A 422 also answers rules no schema
states: an unknown station, a day in the past, a seat the bus does not have.)

Bounded: ``CASES`` examples per operation and mode (times ``FUZZ_SCALE``), no shrinking, no
example database; the counts and the time go to the run's summary (``tests/fuzzing.py``)."""

from __future__ import annotations

import time

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    missing_required_header,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.control import SkipTest

from tests import factories
from tests.fuzzing import SCALE, tally

pytestmark = pytest.mark.fuzz

CASES = 20  # per operation and mode (23 operations, two modes)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture
def bearer(client, line) -> dict:
    """A driver of the line's company: staff, so verification and cash go past the role check."""
    driver = factories.member("driver", of=line.route.company)
    answer = client.post("/api/v1/auth/token", json={"email": driver.email, "password": factories.PASSWORD})
    return {"Authorization": f"Bearer {answer.get_json()['access_token']}"}


@pytest.fixture
def line():
    company = factories.company(name="Schema Express")
    return factories.trip(factories.route(company, stops=3), bus_=factories.bus(company, rows=3))


def fuzz(operation, mode: GenerationMode, headers: dict) -> int:
    """Run one operation's bounded cases; the number run."""
    calls = []

    @settings(
        max_examples=CASES * SCALE,
        deadline=None,
        database=None,
        derandomize=SCALE == 1,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case):
        calls.append(case)
        response = case.call(headers=headers)
        refusals = [negative_data_rejection, missing_required_header] if mode == GenerationMode.NEGATIVE else []
        case.validate_response(response, checks=CHECKS + refusals, headers=headers)

    run()
    return len(calls)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["positive", "negative"])
def test_every_operation_keeps_to_its_description(app, bearer, mode):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    schema.config.generation.update(modes=[mode], with_security_parameters=False)
    failures: dict[str, str] = {}
    started, cases = time.monotonic(), 0
    for result in schema.get_all_operations():
        operation = result.ok()
        try:
            cases += fuzz(operation, mode, bearer)
        except SkipTest:
            continue  # nothing to negate: no parameters and no body (GET /me)
        except Exception as error:
            failures[operation.label] = f"{type(error).__name__}: {str(error)[:1500]}"
    tally("schemathesis " + mode.value, cases=cases, seconds=time.monotonic() - started)
    assert not failures, "\n\n".join(f"{label}\n{text}" for label, text in failures.items())
