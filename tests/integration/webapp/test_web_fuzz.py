"""Fuzz the API from its own OpenAPI document (schemathesis): no input may give a 500.

Bounded: ``CRASHLINE_FUZZ_EXAMPLES`` examples per operation and caller (60; ``make
test-hostile`` sends 100,000 in all), against ``crashline-webapp`` under gunicorn. The
answers are counted by status and reported. (Hypothesis drives schemathesis's strategies
directly: its pytest plugin does not run under the pytest we use.)
"""

from __future__ import annotations

import os
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from web_integration import running_webapp

pytestmark = pytest.mark.integration

MAX_EXAMPLES = int(os.environ.get("CRASHLINE_FUZZ_EXAMPLES", "60"))


@pytest.fixture(scope="module")
def fuzz_target(web_env, database, crashes, tokens):
    with running_webapp({**web_env, "CRASHLINE_WEBAPP_WORKERS": "2"}) as url:
        yield url


def operations(url: str):
    schema = schemathesis.openapi.from_url(f"{url}/api/openapi.json")
    return [result.ok() for result in schema.get_all_operations()]


@pytest.mark.timeout(int(1200 + MAX_EXAMPLES * 5))
@pytest.mark.parametrize("auth", ["anonymous", "token"])
def test_no_input_gives_a_server_error(fuzz_target, tokens, auth, figures):
    headers = {"Auth-Token": tokens["full"]} if auth == "token" else {}
    found: dict[str, str] = {}
    answers: Counter = Counter()
    ops = operations(fuzz_target)
    assert len(ops) >= 13  # every endpoint is in the document

    for operation in ops:
        @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        # Valid inputs (deep paths) and invalid ones (every rejection path) alike.
        @given(case=st.one_of(operation.as_strategy(schemathesis.GenerationMode.POSITIVE),
                              operation.as_strategy(schemathesis.GenerationMode.NEGATIVE)))
        def run(case):
            response = case.call(base_url=fuzz_target, headers=headers, timeout=60)
            answers[response.status_code] += 1
            case.validate_response(response, checks=[not_a_server_error])

        # Collect every operation's failure, then report them all. schemathesis's
        # FailureGroup is a BaseExceptionGroup: `except Exception` let the first one end it.
        try:
            run()
        except (Exception, FailureGroup) as exc:
            found[operation.label] = str(exc)[-3000:]
    figures(f"API fuzzing ({auth}): {answers.total()} examples over {len(ops)} operations",
            [f"answers by status: {dict(sorted(answers.items()))}"])
    assert not found, "\n\n".join(f"{label}:\n{text}" for label, text in found.items())
