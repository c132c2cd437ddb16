"""The docs page and the API keys page in a real Chromium, and SSE from a real daphne."""

import json
import re
import urllib.error
import urllib.request

import pytest

from tests.browser import sign_up

pytestmark = pytest.mark.e2e


def call(server, method: str, path: str, key: str, body: dict | None = None):
    """Make a JSON request to the live server; return (status, parsed body or raw text)."""
    request = urllib.request.Request(
        f"{server.url}{path}",
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_docs_page_renders_under_the_csp(page):
    violations = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    page.goto("/api/docs/")
    page.get_by_text("/api/conversations/", exact=True).first.wait_for()
    assert page.locator(".opblock").count() >= 20
    assert violations == []
    assert page.js_errors == []


def test_api_key_shown_once_works_then_revoked_fails(page, e2e_server):
    sign_up(page)
    page.goto("/settings/keys/")
    page.get_by_label("Name").fill("laptop")
    page.get_by_role("button", name="Create key").click()
    key = page.get_by_label("Your new key").input_value()
    assert key.startswith("sk-chat-")

    status, _ = call(e2e_server, "GET", "/api/conversations/", key)
    assert status == 200
    page.goto("/settings/keys/")
    assert page.get_by_label("Your new key").count() == 0  # shown once only
    row = page.get_by_role("row", name=re.compile("laptop"))
    assert "Never" not in row.inner_text()  # last used is shown

    row.get_by_role("button", name="Revoke laptop").click()
    page.get_by_text("revoked").first.wait_for()
    status, body = call(e2e_server, "GET", "/api/conversations/", key)
    assert status == 401
    assert json.loads(body)["error"]["message"] == "Invalid or revoked API key."


def test_a_reply_streams_as_server_sent_events_from_the_engine(e2e_server):
    username = "sse-user"
    e2e_server.manage("shell", "--no-imports", "-c",
        "from django.contrib.auth import get_user_model; "
        f"get_user_model().objects.create_user('{username}', password='x')")  # fmt: skip
    key = e2e_server.manage("create_api_key", username).strip().splitlines()[-1]
    status, body = call(e2e_server, "POST", "/api/conversations/", key, {"title": "SSE"})
    assert status == 201
    conversation = json.loads(body)["id"]
    status, body = call(
        e2e_server, "POST", f"/api/conversations/{conversation}/messages/", key,
        {"content": "Tell me a story"},
    )  # fmt: skip
    assert status == 202
    reply = json.loads(body)["assistant_message"]["id"]

    request = urllib.request.Request(
        f"{e2e_server.url}/api/messages/{reply}/events/",
        headers={"Authorization": f"Bearer {key}"},
    )
    frames = []
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.headers["Content-Type"] == "text/event-stream"
        for line in response:
            if line.startswith(b"data: "):
                frames.append(json.loads(line[6:]))
    assert frames[0]["type"] == "message"
    assert frames[-1]["type"] == "done"
    assert frames[-1]["message"]["status"] == "completed"
    streamed = frames[0]["message"]["content"] + "".join(
        f.get("delta", "") for f in frames if f["type"] == "delta"
    )
    assert streamed == frames[-1]["message"]["content"]
    assert frames[-1]["message"]["content"]
    status, body = call(e2e_server, "GET", f"/api/messages/{reply}/", key)
    assert json.loads(body)["content"] == frames[-1]["message"]["content"]
