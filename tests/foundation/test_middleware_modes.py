"""Under ASGI the middleware chain runs on the event loop; only the (sync) view hops to a thread.

A sync-only middleware in the list splits the chain into thread hops on every request
(bench/http.py measured 153 against 349 requests a second for a bare view in daphne).
"""

import pytest
from django.conf import settings
from django.core.handlers.asgi import ASGIHandler
from django.utils.module_loading import import_string


def test_every_middleware_runs_in_both_modes():
    for dotted in settings.MIDDLEWARE:
        middleware = import_string(dotted)
        assert getattr(middleware, "async_capable", False), f"{dotted} is sync only"
        assert getattr(middleware, "sync_capable", True), f"{dotted} is async only"


def test_the_asgi_chain_adapts_no_middleware(monkeypatch):
    """Django wraps a middleware in sync_to_async/async_to_sync only where modes differ.

    (Its unnamed process_view hooks, CSRF's, still run on a thread: Django's own.)
    """
    from django.core.handlers import base

    adapted = []
    original = base.BaseHandler.adapt_method_mode

    def spy(self, is_async, method, method_is_async=None, debug=False, name=None):
        if method_is_async is None:
            from asgiref.sync import iscoroutinefunction

            method_is_async = iscoroutinefunction(method)
        if is_async != method_is_async and name:  # named: a middleware's own call
            adapted.append(name)
        return original(self, is_async, method, method_is_async, debug, name)

    monkeypatch.setattr(base.BaseHandler, "adapt_method_mode", spy)
    ASGIHandler()  # loads the middleware for async
    assert adapted == []


@pytest.mark.django_db
async def test_limits_refuse_over_asgi(async_client, settings):
    settings.MAX_QUERY_STRING_LENGTH = 100
    response = await async_client.get("/v1/conversations", {"q": "a" * 200})
    assert response.status_code == 414
    assert response.json()["error"]["code"] == "query_too_long"
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = await async_client.post(
        "/accounts/login/", "username=" + "a" * 2000,
        content_type="application/x-www-form-urlencoded",
    )  # fmt: skip
    assert response.status_code == 413
    assert "larger than 1,000 bytes" in response.content.decode()
    ok = await async_client.get("/accounts/login/", {"next": "/"})
    assert ok.status_code == 200


def test_static_files_are_served_in_both_modes(client, settings):
    response = client.get(settings.STATIC_URL + "app.js")
    assert response.status_code == 200
