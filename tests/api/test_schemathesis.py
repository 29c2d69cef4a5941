"""The API against its own OpenAPI document, with schemathesis (its Python API, on the
WSGI app: no network): for every operation, requests generated from the document, sent
with a valid token and without one, must get no server error, a response that conforms
to the documented schema, and a documented status code.

Kept short and repeatable: a few examples per operation (MAX_EXAMPLES), derandomized
(the same examples on every run), on the small world of tests/api/world.py. Ids drawn
at random name nothing, so each id in a path is drawn from the world's own objects
(and the generated one): the operations answer their 200s too, not only 404s."""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from tests.api.world import build

MAX_EXAMPLES = 12
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]
# Whose token: an applicant with drafts (PATCH), a reviewer (PUT review), the
# secretariat (rankings), an admin (the outbox); and no token at all.
WHO = ["pi", "reviewer_cn", "secretariat", "admin", None]


@pytest.fixture(scope="module")
def api_schema(app):
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


def _operations(app) -> list[tuple[str, str]]:
    with app.test_client() as client:
        document = client.get("/api/v1/openapi.json").get_json()
    return sorted((path, method.upper()) for path, item in document["paths"].items()
                  for method in item if method in ("get", "put", "patch", "post", "delete"))


def test_the_document_is_openapi_3_1_and_lists_every_operation(client):
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"] == "3.1.0"
    assert len(_operations(client.application)) == 15
    # Every operation documents its problems as application/problem+json.
    problem = document["components"]["responses"]["NOT_FOUND"]["content"]
    assert list(problem) == ["application/problem+json"]


def test_the_docs_page_is_served_by_the_app(client):
    page = client.get("/api/v1/docs").get_data(as_text=True)
    assert "/api/v1/docs/assets/swagger-ui-bundle.js" in page and "/api/v1/openapi.json" in page
    assert "http://" not in page.split("<body", 1)[1].replace("http://localhost", "")  # no CDN
    with client.get("/api/v1/docs/assets/swagger-ui-bundle.js") as script:
        assert script.status_code == 200 and len(script.data) > 100_000
    assert client.get("/api/v1/docs/assets/../../secret").status_code == 404


@pytest.mark.parametrize("who", WHO, ids=lambda w: w or "anonymous")
def test_every_operation_conforms_to_the_document(app, api_schema, who):
    world = build()
    headers = world.auth(who) if who else {}
    known = {"call_id": [world.call.id], "proposal_id": [world.draft.id, world.in_review.id],
             "assignment_id": [a.id for a in world.assignments.values()],
             "agency_id": [world.cn.id, world.be.id], "project_id": [world.project.id]}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) == 15
    statuses = []
    for operation in operations:

        @settings(max_examples=MAX_EXAMPLES, derandomize=True, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck), print_blob=False)
        @given(case=operation.as_strategy(), data=st.data())
        def check(case, data):
            for name, value in (case.path_parameters or {}).items():
                case.path_parameters[name] = data.draw(st.sampled_from([*known[name], value]))
            response = case.call_and_validate(headers=headers, checks=CHECKS)
            statuses.append(response.status_code)

        check()
    # The generated requests reached the operations, not only their refusals.
    assert 200 in statuses or who is None
