"""Errors the /v1 door raises itself, each naming the exact parameter as OpenAI does.

Every /v1 failure is answered by core.errors.openai_exception_handler as OpenAI's error body,
{"error": {"message", "type", "param", "code"}}: the `openai` SDK turns the status into its
typed exceptions (NotFoundError, ...) and reads that body.
"""

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from core.errors import DomainError, error_describe, openai_error_body


class ApiError(DomainError):
    """A request /v1 refuses, with the HTTP status and the OpenAI error fields."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str,
    ):
        super().__init__(message, param=param)
        self.status_code = status
        self.error_type = type
        self.code = code


def invalid(message: str, *, param: str | None, code: str = "invalid_value") -> ApiError:
    return ApiError(message, param=param, code=code)


def not_found(message: str) -> ApiError:
    return ApiError(message, status=404, code="not_found")


@csrf_exempt
def unknown_url(request, path: str = ""):
    """Answer a path under /v1 that names no endpoint (any method; a key needs no CSRF)."""
    error = error_describe(not_found(f"Invalid URL ({request.method} /v1/{path})."))
    return JsonResponse(openai_error_body(error), status=error.status)
