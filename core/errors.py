"""Domain errors, and the one mapping from any exception to an error answer for every door.

A domain error carries its own HTTP status and OpenAI error type, so no door keeps a table:
`error_describe` turns any exception into one `ErrorDescription`, built on DRF's own
`exception_handler`, and each door only renders it (`api_error_body`, `openai_error_body`).
"""

import logging
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

logger = logging.getLogger(__name__)

# The OpenAI error type of a framework error, which carries none of its own.
OPENAI_TYPES = {
    401: "authentication_error",
    403: "permission_error",
    409: "conflict_error",
    429: "rate_limit_error",
}
SERVER_ERROR_MESSAGE = "The server had an error while processing your request."


class DomainError(Exception):
    """A request the domain refuses; every door answers it with `status_code` and `code`."""

    status_code = 400
    error_type = "invalid_request_error"
    code = "invalid_request"

    def __init__(self, message: str, *, param: str | None = None):
        super().__init__(message)
        self.message = message
        self.param = param


class RequestTooLarge(exceptions.APIException):
    status_code = 413
    default_detail = "The request body is too large."
    default_code = "request_too_large"


@dataclass(frozen=True)
class ErrorDescription:
    """One error as every door sees it; each door's body shows the parts it has room for."""

    status: int
    code: str | None
    type: str
    message: str
    param: str | None = None
    fields: dict[str, list[str]] | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def summary(self) -> str:
        """Return one sentence for a body without `fields`: the named parameter's problems."""
        if self.fields:
            return " ".join(self.fields.get(self.param or api_settings.NON_FIELD_ERRORS_KEY, []))
        return self.message


def error_text(exc: Exception) -> str:
    """Return the message a person should read for a domain or validation error."""
    messages = getattr(exc, "messages", None)
    if messages is not None and not isinstance(exc, DomainError):
        return " ".join(messages)
    return getattr(exc, "message", str(exc))


def _field_errors(detail) -> dict[str, list[str]]:
    """Flatten DRF validation details to {field: [messages]}."""
    if isinstance(detail, dict):
        return {
            str(name): _flatten_nested(messages)
            if isinstance(messages, dict)
            else [str(m) for m in (messages if isinstance(messages, list) else [messages])]
            for name, messages in detail.items()
        }
    messages = detail if isinstance(detail, list) else [detail]
    return {api_settings.NON_FIELD_ERRORS_KEY: [str(m) for m in messages]}


def _flatten_nested(detail: dict) -> list[str]:
    return [f"{key}: {msg}" for key, msgs in _field_errors(detail).items() for msg in msgs]


def _first_field(fields: dict[str, list[str]]) -> str | None:
    name = next(iter(fields), None)
    return None if name == api_settings.NON_FIELD_ERRORS_KEY else name


def _openai_type(status: int) -> str:
    if status >= 500:
        return "server_error"
    return OPENAI_TYPES.get(status, "invalid_request_error")


def error_describe(exc: Exception) -> ErrorDescription | None:
    """Describe any exception as the error a client gets, or return None for a server fault."""
    if isinstance(exc, DomainError):
        return ErrorDescription(
            status=exc.status_code,
            code=exc.code,
            type=exc.error_type,
            message=exc.message,
            param=exc.param,
        )
    # Django's own errors become DRF's first (HackSoft's pattern), in our words.
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied("You do not have permission to do this.")
    elif isinstance(exc, RequestDataTooBig):
        exc = RequestTooLarge()
    elif isinstance(exc, Http404):
        # "Not found." whatever the selector said: the same for missing and foreign rows.
        exc = exceptions.NotFound()
    response = drf_exception_handler(exc, {})
    if response is None:
        return None
    status = response.status_code
    headers = {
        name: response[name] for name in ("WWW-Authenticate", "Retry-After") if name in response
    }
    error_type = _openai_type(status)
    if isinstance(exc, exceptions.ValidationError):
        fields = _field_errors(exc.detail)
        return ErrorDescription(
            status=status,
            code="invalid",
            type=error_type,
            message="Invalid input.",
            param=_first_field(fields),
            fields=fields,
            headers=headers,
        )
    if isinstance(exc, exceptions.Throttled):
        wait = exc.wait
        message = "Too many requests."
        if wait:
            message += f" Try again in {wait} second{'' if wait == 1 else 's'}."
    else:
        message = str(exc.detail)
    codes = exc.get_codes()
    return ErrorDescription(
        status=status,
        code=codes if isinstance(codes, str) else "error",
        type=error_type,
        message=message,
        headers=headers,
    )


def server_error_describe() -> ErrorDescription:
    """Describe a fault of ours, for a door that answers even those in its own format."""
    return ErrorDescription(
        status=500, code=None, type="server_error", message=SERVER_ERROR_MESSAGE
    )


def api_error_body(error: ErrorDescription) -> dict:
    """Render an error as the /api body: {"error": {"code", "message", "fields"?}}."""
    body = {"code": error.code, "message": error.message}
    if error.fields:
        body["fields"] = error.fields
    return {"error": body}


def openai_error_body(error: ErrorDescription) -> dict:
    """Render an error as OpenAI's body: {"error": {"message", "type", "param", "code"}}."""
    return {
        "error": {
            "message": error.summary,
            "type": error.type,
            "param": error.param,
            "code": error.code,
        }
    }


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    """Answer any exception raised in an /api view (DRF's EXCEPTION_HANDLER)."""
    error = error_describe(exc)
    if error is None:
        return None
    set_rollback()
    return Response(api_error_body(error), status=error.status, headers=error.headers)


def openai_exception_handler(exc: Exception, context: dict) -> Response:
    """Answer any exception raised in a /v1 view, server faults included, as OpenAI does."""
    error = error_describe(exc)
    if error is None:
        logger.exception("Unhandled error in /v1", exc_info=exc)
        error = server_error_describe()
    set_rollback()
    return Response(openai_error_body(error), status=error.status, headers=error.headers)
