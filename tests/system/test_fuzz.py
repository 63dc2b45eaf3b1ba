"""The REST API fuzzed against its own OpenAPI description (schemathesis), as a stranger and as the teacher.

Every operation of /api/openapi.json gets generated requests, valid and not, against the
in-process app; every answer must be no 500, a documented status, a documented content
type and a body that conforms to the documented schema. Bounded: 25 examples per operation.
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = pytest.mark.slow

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def fuzzed_app(tmp_path_factory):
    """One app for all operations: a fresh one per example would cost a recognizer start each."""
    from server import create_app

    folder = tmp_path_factory.mktemp("fuzz")
    app = create_app(
        {
            "TESTING": True,
            "TEACHER_TOKEN": TEACHER["Authorization"].removeprefix("Bearer "),
            "DATA_DIR": str(folder / "data"),
            "STORE_URL": f"sqlite:///{folder / 'attempts.db'}",
            "SPOOL_PATH": str(folder / "spool.db"),
            "MODELS_DIR": str(folder / "models"),
            "LOG_FLUSH_SECONDS": 0.05,
            "RETRAIN_FAST": True,
            "INFERENCE_PROCESSES": False,  # in-thread recognition: no child processes to start
        }
    )
    yield app
    app.extensions["service"].close()


@pytest.fixture(scope="module")
def api_schema(fuzzed_app):
    return schemathesis.openapi.from_wsgi("/api/openapi.json", fuzzed_app)


schema = schemathesis.pytest.from_fixture("api_schema")


TEACHER = {"Authorization": "Bearer fuzz-teacher-key"}
BOUNDED = settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))


@schema.parametrize()
@BOUNDED
def test_a_stranger_gets_documented_answers(case):
    case.call_and_validate(checks=CHECKS)


@schema.parametrize()
@BOUNDED
def test_the_teacher_gets_documented_answers(case):
    case.headers = {**(case.headers or {}), **TEACHER}  # over whatever the generator made up for the scheme
    case.call_and_validate(checks=CHECKS)
