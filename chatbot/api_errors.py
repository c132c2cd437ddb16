"""One JSON error shape for every DRF endpoint: {"error": {"code", "message", "fields"?}}."""

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from drf_spectacular.utils import OpenApiExample, OpenApiResponse
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from conversations.services import (
    ConversationError,
    ConversationNotOpen,
    GenerationInProgress,
    MessageTooLong,
)

CONVERSATION_ERROR_STATUS = {
    ConversationNotOpen: status.HTTP_403_FORBIDDEN,
    GenerationInProgress: status.HTTP_409_CONFLICT,
    MessageTooLong: status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
}


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    """Return the error payload every endpoint answers with."""
    error = {"code": code, "message": message}
    if fields:
        error["fields"] = fields
    return {"error": error}


def _field_errors(detail) -> dict:
    """Flatten DRF or Django validation details to {field: [messages]}."""
    if isinstance(detail, dict):
        return {
            str(field): [str(m) for m in (msgs if isinstance(msgs, list) else [msgs])]
            if not isinstance(msgs, dict)
            else _flatten_nested(msgs)
            for field, msgs in detail.items()
        }
    messages = detail if isinstance(detail, list) else [detail]
    return {"non_field_errors": [str(m) for m in messages]}


def _flatten_nested(detail: dict) -> list[str]:
    return [f"{key}: {msg}" for key, msgs in _field_errors(detail).items() for msg in msgs]


def api_exception_handler(exc, context):
    """Map domain and framework errors to JSON with the right status."""
    headers = {}
    if isinstance(exc, Http404):
        exc_status, body = 404, error_body("not_found", "Not found.")
    elif isinstance(exc, PermissionDenied):
        exc_status = 403
        body = error_body("permission_denied", "You do not have permission to do this.")
    elif isinstance(exc, RequestDataTooBig):
        exc_status, body = 413, error_body("request_too_large", "The request body is too large.")
    elif isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        exc_status = 400
        body = error_body("invalid", "Invalid input.", _field_errors(detail))
    elif isinstance(exc, ConversationError):
        exc_status = CONVERSATION_ERROR_STATUS.get(type(exc), status.HTTP_400_BAD_REQUEST)
        body = error_body(exc.code, exc.message)
    elif isinstance(exc, exceptions.ValidationError):
        exc_status = 400
        body = error_body("invalid", "Invalid input.", _field_errors(exc.detail))
    elif isinstance(exc, exceptions.Throttled):
        exc_status = 429
        wait = f" Try again in {exc.wait} second{'' if exc.wait == 1 else 's'}." if exc.wait else ""
        body = error_body("throttled", f"Too many requests.{wait}")
        if exc.wait is not None:
            headers["Retry-After"] = str(int(exc.wait))
    elif isinstance(exc, exceptions.APIException):
        exc_status = exc.status_code
        body = error_body(
            exc.get_codes() if isinstance(exc.get_codes(), str) else "error", str(exc.detail)
        )
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
    else:
        return None
    set_rollback()
    return Response(body, status=exc_status, headers=headers)


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    fields = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), required=False
    )


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


ERROR_DESCRIPTIONS = {
    400: "Invalid input: `error.fields` maps each field to its problems.",
    401: "Missing or invalid credentials (Bearer API key or session).",
    403: "The conversation is locked or closed.",
    404: "Not found, or not yours (the same answer either way).",
    409: "A reply is still being generated in this conversation.",
    413: "The message or the request body is too large.",
    429: "Too many requests; see the Retry-After header.",
}


ERROR_EXAMPLES = {
    400: error_body("invalid", "Invalid input.", {"title": ["This field may not be blank."]}),
    401: error_body("not_authenticated", "Authentication credentials were not provided."),
    403: error_body("conversation_not_open", "This conversation is locked: Under review"),
    404: error_body("not_found", "Not found."),
    409: error_body(
        "generation_in_progress",
        "A reply is still being generated in this conversation. Wait for it or stop it.",
    ),
    413: error_body("message_too_long", "Messages are at most 100,000 characters."),
    429: error_body("throttled", "Too many requests. Try again in 12 seconds."),
}


def error_responses(*statuses: int) -> dict:
    """Return drf-spectacular response entries for the given error statuses (401 always)."""
    return {
        code: OpenApiResponse(
            ErrorSerializer,
            description=ERROR_DESCRIPTIONS[code],
            examples=[
                OpenApiExample(
                    f"Error {code}",
                    value=ERROR_EXAMPLES[code],
                    response_only=True,
                    status_codes=[code],
                )
            ],
        )
        for code in sorted({401, *statuses})
    }
