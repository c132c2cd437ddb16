"""Bounds on JSON depth, query strings and bodies: a clear 4xx, never a RecursionError or 500."""

import io
import json

import pytest
from django.urls import path
from rest_framework.exceptions import ParseError
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from core.limits import DepthLimitedJSONParser, JsonTooDeep, json_depth_exceeds, json_loads


class EchoView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = []
    parser_classes = [DepthLimitedJSONParser]

    def post(self, request):
        return Response({"data": request.data})


urlpatterns = [path("echo/", EchoView.as_view())]


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        ("1", 0),
        ("[]", 1),
        ('{"a": [1, {"b": []}]}', 4),
        ('["[[[[", "{{{{"]', 1),
        (r'["\"[[[[", "\\", []]', 2),
        ("[" * 5 + "]" * 5, 5),
    ],
)
def test_depth_counts_brackets_outside_strings(text, depth):
    assert not json_depth_exceeds(text, depth)
    if depth:
        assert json_depth_exceeds(text, depth - 1)


def test_json_within_the_limit_parses():
    assert json_loads('{"a": [[["deep"]]]}', max_depth=4) == {"a": [[["deep"]]]}
    assert json_loads(b'{"x": "[{"}', max_depth=1) == {"x": "[{"}


HOSTILE = [
    "[" * 100_000 + "]" * 100_000,
    '{"a":' * 50_000 + "1" + "}" * 50_000,
    "[" * 200_000,
]


@pytest.mark.parametrize("body", HOSTILE)
def test_hostile_nesting_is_refused_without_recursing(body):
    with pytest.raises(JsonTooDeep, match="nested more than 32 levels"):
        json_loads(body, max_depth=32)


def test_limit_comes_from_settings(settings):
    settings.MAX_JSON_DEPTH = 2
    assert json_loads("[[1]]") == [[1]]
    with pytest.raises(JsonTooDeep):
        json_loads("[[[1]]]")


def parse(body: str):
    return DepthLimitedJSONParser().parse(io.BytesIO(body.encode()), "application/json", {})


def test_parser_refuses_deep_json_as_a_parse_error(settings):
    settings.MAX_JSON_DEPTH = 8
    assert parse('{"title": "x"}') == {"title": "x"}
    with pytest.raises(ParseError, match="nested more than 8 levels"):
        parse("[" * 10_000 + "]" * 10_000)
    with pytest.raises(ParseError, match="JSON parse error"):
        parse("{nope")
    with pytest.raises(ParseError, match="JSON parse error"):
        parse("NaN")


DEEP = "[" * 5000 + "]" * 5000


@pytest.mark.urls("tests.foundation.test_limits")
def test_deep_json_behind_a_drf_view_is_a_400_in_the_api_shape(client):
    ok = client.post("/echo/", '{"a": [1]}', content_type="application/json")
    assert ok.status_code == 200 and ok.json() == {"data": {"a": [1]}}
    response = client.post("/echo/", DEEP, content_type="application/json")
    assert response.status_code == 400
    assert "nested more than 32 levels" in response.json()["error"]["message"]


@pytest.mark.django_db
def test_a_long_query_string_is_a_414(client, settings):
    settings.MAX_QUERY_STRING_LENGTH = 100
    response = client.get("/search/", {"q": "a" * 200})
    assert response.status_code == 414
    assert "longer than 100 characters" in response.text
    response = client.get("/v1/conversations", {"q": "a" * 200})
    assert response.status_code == 414
    error = response.json()["error"]
    assert error["code"] == "query_too_long" and error["type"] == "invalid_request_error"


@pytest.mark.django_db
def test_a_query_string_within_the_limit_passes(client, settings):
    settings.MAX_QUERY_STRING_LENGTH = 100
    assert client.get("/accounts/login/", {"next": "/"}).status_code == 200


@pytest.mark.django_db
def test_a_large_form_body_is_a_413_with_a_message(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = client.post(
        "/accounts/login/",
        "username=" + "a" * 2000,
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 413
    assert "larger than 1,000 bytes" in response.text


@pytest.mark.django_db
def test_a_large_api_body_is_a_413_in_json(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = json.dumps({"title": "a" * 2000})
    response = client.post("/api/conversations/", body, content_type="application/json")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"
