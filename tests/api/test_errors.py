"""One error mapping: every exception is described once and each door only renders it."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from rest_framework import exceptions

from core.errors import DomainError, api_error_body, error_describe, openai_error_body


class Frozen(DomainError):
    status_code = 423
    error_type = "permission_error"
    code = "frozen"


def test_a_domain_error_carries_its_own_status_into_both_bodies():
    error = error_describe(Frozen("Thawing soon.", param="title"))
    assert error.status == 423
    assert api_error_body(error) == {"error": {"code": "frozen", "message": "Thawing soon."}}
    assert openai_error_body(error) == {
        "error": {
            "message": "Thawing soon.",
            "type": "permission_error",
            "param": "title",
            "code": "frozen",
        }
    }


def test_a_field_error_lists_fields_for_api_and_names_the_first_for_openai():
    error = error_describe(ValidationError({"metadata": ["Too many keys."]}))
    assert api_error_body(error) == {
        "error": {
            "code": "invalid",
            "message": "Invalid input.",
            "fields": {"metadata": ["Too many keys."]},
        }
    }
    body = openai_error_body(error)["error"]
    assert (body["message"], body["param"]) == ("Too many keys.", "metadata")


def test_a_missing_row_is_the_same_bare_404_whatever_the_selector_said():
    error = error_describe(Http404("No such conversation."))
    assert (error.status, error.code, error.message) == (404, "not_found", "Not found.")


def test_framework_errors_get_status_headers_and_an_openai_type():
    throttled = error_describe(exceptions.Throttled(12))
    assert (throttled.status, throttled.type) == (429, "rate_limit_error")
    assert throttled.headers == {"Retry-After": "12"}
    assert throttled.message == "Too many requests. Try again in 12 seconds."
    assert error_describe(PermissionDenied()).type == "permission_error"
    assert error_describe(exceptions.NotAuthenticated()).type == "authentication_error"


def test_an_unexpected_exception_is_left_to_the_server_error_path():
    assert error_describe(RuntimeError("boom")) is None
