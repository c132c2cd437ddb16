"""The OpenAPI schema, the docs page, and schemathesis over every /api operation."""

import json
from io import StringIO

import pytest
import schemathesis
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from api.schema import CONV_ID, MSG_ID, MSG_ID_2, PROJ_ID, SHARE_TOKEN
from conversations.models import Conversation, Message
from sharing.models import ShareLink
from tests.api.conftest import finished_turn, make_key
from tests.factories import ConversationFactory, ProjectFactory

HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture
def schema_document(db) -> dict:
    out = StringIO()
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json", stdout=out
    )
    return json.loads(out.getvalue())


def operations(document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield method, path, operation


def test_schema_validates_with_no_warnings(schema_document):
    assert schema_document["openapi"].startswith("3.")
    assert "ApiKeyAuth" in schema_document["components"]["securitySchemes"]


def test_schema_lists_every_api_route(schema_document):
    listed = {
        (method.upper(), path)
        for method, path, _ in operations(schema_document)
        if path.startswith("/api/")  # /v1 has its own: tests/v1/test_schema.py
    }
    from tests.api.test_routes import COLLECTION_ROUTES, OBJECT_ROUTES

    placeholders = {"{conversation}", "{reply}", "{question}", "{project}"}
    expected = set()
    for method, template, _, _ in OBJECT_ROUTES + COLLECTION_ROUTES:
        path = template
        for placeholder in placeholders:
            path = path.replace(placeholder, "{public_id}")
        expected.add((method.upper(), path.replace("{share}", "{token}")))
    assert expected == listed


def test_every_operation_has_examples_and_every_body_has_one(schema_document):
    for method, path, operation in operations(schema_document):
        where = f"{method.upper()} {path}"
        for status, response in operation["responses"].items():
            for content in response.get("content", {}).values():
                assert content.get("examples"), f"{where} {status} has no example"
        body = operation.get("requestBody", {}).get("content", {})
        for content in body.values():
            assert content.get("examples"), f"{where} request body has no example"
        assert operation.get("summary"), f"{where} has no summary"


def test_schema_is_served_at_api_schema(client, db):
    response = client.get("/api/schema/", headers={"Accept": "application/json"})
    assert response.status_code == 200
    assert "/api/conversations/" in response.text


def test_docs_page_loads_its_assets_from_our_static_files(client, db):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.text
    for asset in ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js"):
        url = f"/static/drf_spectacular_sidecar/swagger-ui-dist/{asset}"
        assert url in html
        assert finders.find(f"drf_spectacular_sidecar/swagger-ui-dist/{asset}")
    assert "https://" not in html  # no CDN
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-eval" not in csp
    # The initialising script is a separate file, not inline.
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "/api/schema/" in script.text


def test_other_pages_keep_the_strict_csp(owner_client):
    csp = owner_client.get("/settings/keys/")["Content-Security-Policy"]
    assert "unsafe-inline" not in csp


# Schemathesis: generated requests to every operation, authenticated with a real key, against
# a world where some ids exist. No request may end in a server error or break the schema.


# Built at import: generating the schema needs no database.
schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application()).include(
    path_regex="^/api/"
)


@pytest.fixture
def fuzz_world(owner, settings, keep_test_connection):
    """Objects carrying the ids of the schema's examples, so requests built from them land."""
    settings.API_WRITE_RATE = settings.API_KEY_WRITE_RATE = "off"
    settings.GENERATION_RATE = settings.API_KEY_GENERATION_RATE = "off"
    project = ProjectFactory(owner=owner, public_id=PROJ_ID)
    conversation = ConversationFactory(owner=owner, title="Fuzz", project=project)
    Conversation.objects.filter(pk=conversation.pk).update(public_id=CONV_ID)
    conversation.refresh_from_db()
    question, reply = finished_turn(conversation)
    Message.objects.filter(pk=question.pk).update(public_id=MSG_ID)
    Message.objects.filter(pk=reply.pk).update(public_id=MSG_ID_2)
    ShareLink.objects.create(
        owner=owner, conversation=conversation, message=reply, token=SHARE_TOKEN
    )
    return {"Authorization": f"Bearer {make_key(owner)}"}


@schema.parametrize()
@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_no_generated_request_causes_a_server_error(case, fuzz_world):
    # Every response must be documented and match its schema; how strictly input is parsed
    # (a number where a string is expected) and business rules (an unknown project id) are
    # tested by the endpoint tests, so those two input checks are left out.
    case.call_and_validate(
        headers=fuzz_world, excluded_checks=[negative_data_rejection, positive_data_acceptance]
    )
