"""Deeply nested JSON is a 400 on /api and /v1, not a RecursionError."""

import json

DEEP = "[" * 5000 + "]" * 5000


def test_api_deep_json_is_400(client, bearer):
    body = '{"title": "x", "metadata": ' + DEEP + "}"
    response = client.post("/api/conversations/", body, content_type="application/json", **bearer)
    assert response.status_code == 400


def test_v1_deep_json_is_400_openai_shape(client, bearer):
    body = '{"metadata": ' + DEEP + "}"
    response = client.post("/v1/conversations", body, content_type="application/json", **bearer)
    assert response.status_code == 400
    error = json.loads(response.content)["error"]
    assert error["code"] == "invalid_json"
    assert "nested" in error["message"]
