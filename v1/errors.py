"""Every /v1 failure as OpenAI's error body: {"error": {"message", "type", "param", "code"}}.

The `openai` SDK turns the status into its typed exceptions (NotFoundError, ...) and reads
this body, so every error path of the /v1 views ends here.
"""

import logging

from django.core.exceptions import RequestDataTooBig, ValidationError
from django.http import Http404, JsonResponse
from rest_framework import exceptions as drf
from rest_framework.response import Response

from conversations import services

logger = logging.getLogger(__name__)


class ApiError(Exception):
    """A request /v1 refuses, with the HTTP status and the OpenAI error fields."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.status = status
        self.type = type
        self.param = param
        self.code = code


def invalid(message: str, *, param: str | None, code: str = "invalid_value") -> ApiError:
    return ApiError(message, param=param, code=code)


def not_found(message: str) -> ApiError:
    return ApiError(message, status=404, code="not_found")


def error_body(error: ApiError) -> dict:
    return {
        "error": {
            "message": error.message,
            "type": error.type,
            "param": error.param,
            "code": error.code,
        }
    }


# The state errors every door shares, as (status, OpenAI error type).
_CONVERSATION_ERRORS = {
    services.ConversationNotOpen: (403, "permission_error"),
    services.GenerationInProgress: (409, "conflict_error"),
    services.ConversationFull: (400, "invalid_request_error"),
    services.MessageTooLong: (413, "invalid_request_error"),
}


def to_api_error(exc: Exception) -> ApiError | None:
    """Translate an exception into an ApiError, or None if it is a server fault."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, Http404):
        return not_found(str(exc) or "Not found.")
    if isinstance(exc, ValidationError):
        if hasattr(exc, "error_dict"):
            field, messages = next(iter(exc.message_dict.items()))
            return invalid(" ".join(messages), param=field)
        return invalid(" ".join(exc.messages), param=None)
    if isinstance(exc, services.ConversationError):
        for cls, (status, type_) in _CONVERSATION_ERRORS.items():
            if isinstance(exc, cls):
                return ApiError(exc.message, status=status, type=type_, code=exc.code)
        return ApiError(exc.message, code=exc.code)
    if isinstance(exc, RequestDataTooBig):
        return ApiError("The request body is too large.", status=413, code="request_too_large")
    if isinstance(exc, drf.NotAuthenticated):
        return ApiError(
            "You didn't provide an API key. Send it as 'Authorization: Bearer <key>'.",
            status=401,
            type="authentication_error",
            code="invalid_api_key",
        )
    if isinstance(exc, drf.AuthenticationFailed):
        return ApiError(
            str(exc.detail), status=401, type="authentication_error", code="invalid_api_key"
        )
    if isinstance(exc, drf.Throttled):
        return ApiError(
            "Too many requests. Slow down and retry after the time in Retry-After.",
            status=429,
            type="rate_limit_error",
            code="rate_limit_exceeded",
        )
    if isinstance(exc, drf.MethodNotAllowed):
        return ApiError(str(exc.detail), status=405, code="method_not_allowed")
    if isinstance(exc, drf.APIException):
        return ApiError(str(exc.detail), status=exc.status_code)
    return None


def exception_handler(exc: Exception, context: dict) -> Response:
    """Render any exception raised in a /v1 view as an OpenAI error response."""
    error = to_api_error(exc)
    if error is None:
        logger.exception("Unhandled error in /v1", exc_info=exc)
        error = ApiError(
            "The server had an error while processing your request.",
            status=500,
            type="server_error",
        )
    response = Response(error_body(error), status=error.status)
    if getattr(exc, "auth_header", None):
        response["WWW-Authenticate"] = exc.auth_header
    if isinstance(exc, drf.Throttled) and exc.wait is not None:
        response["Retry-After"] = str(int(exc.wait))
    return response


def unknown_url(request, path: str = ""):
    """Answer a path under /v1 that names no endpoint."""
    error = not_found(f"Invalid URL ({request.method} /v1/{path}).")
    return JsonResponse(error_body(error), status=404)
