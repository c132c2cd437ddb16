"""Bounds on what a request may carry: JSON depth, query string length, body size.

Each limit is a setting (see the end of chatbot/settings.py and README, Limits); each refusal
is a 4xx with a message saying which limit it hit, never a RecursionError or a dropped socket.
"""

import json
import re

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.utils.json import strict_constant

# A JSON string, escapes included (possessive, so a long string cannot backtrack).
JSON_STRING = re.compile(r'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
NOT_BRACKETS = re.compile(r"[^\[\]{}]++")


class JsonTooDeep(ValueError):
    """JSON nested deeper than the limit."""


def json_depth_exceeds(text: str, max_depth: int) -> bool:
    """Return whether text nests arrays and objects deeper than max_depth, without recursing."""
    # Brackets inside strings don't nest; drop the strings, then the rest but the brackets.
    brackets = NOT_BRACKETS.sub("", JSON_STRING.sub("", text))
    if len(brackets) <= max_depth:
        return False
    depth = 0
    for char in brackets:
        if char in "[{":
            depth += 1
            if depth > max_depth:
                return True
        else:
            depth -= 1
    return False


def json_loads(text: str | bytes, *, max_depth: int | None = None, strict: bool = True):
    """Parse JSON, refusing nesting past max_depth (settings.MAX_JSON_DEPTH) with JsonTooDeep."""
    if max_depth is None:
        max_depth = settings.MAX_JSON_DEPTH
    if isinstance(text, bytes):
        text = text.decode()
    if json_depth_exceeds(text, max_depth):
        raise JsonTooDeep(f"JSON is nested more than {max_depth} levels deep.")
    try:
        return json.loads(text, parse_constant=strict_constant if strict else None)
    except RecursionError:  # only if the limit is set past what the interpreter can parse
        raise JsonTooDeep(f"JSON is nested more than {max_depth} levels deep.") from None


class DepthLimitedJSONParser(JSONParser):
    """DRF's JSON parser with settings.MAX_JSON_DEPTH: deeper bodies are a 400, not a 500."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            return json_loads(stream.read().decode(encoding), strict=self.strict)
        except JsonTooDeep as exc:
            raise ParseError(str(exc)) from None
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None


def _is_json_door(request: HttpRequest) -> bool:
    return request.path.startswith(tuple(settings.JSON_ERROR_PATH_PREFIXES))


def limit_response(request: HttpRequest, *, status: int, code: str, message: str) -> HttpResponse:
    """Answer a refused request: JSON for the API doors, a short text page for the browser."""
    if _is_json_door(request):
        # Both API shapes at once: /api reads code and message, /v1 (OpenAI) also type, param.
        body = {
            "error": {
                "message": message,
                "type": "invalid_request_error",
                "param": None,
                "code": code,
            }
        }
        return JsonResponse(body, status=status)
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


def _content_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


class RequestLimitsMiddleware:
    """Refuse over-long query strings (414) and over-large bodies (413) before any view runs.

    Django answers a body past DATA_UPLOAD_MAX_MEMORY_SIZE with a bare 400 wherever it is
    first read (often the CSRF check); here it is a 413 that says so. File uploads
    (multipart) are not counted against that limit by Django, so neither are they here.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        max_query = settings.MAX_QUERY_STRING_LENGTH
        if max_query and len(request.META.get("QUERY_STRING", "")) > max_query:
            return limit_response(
                request,
                status=414,
                code="query_too_long",
                message=f"The query string is longer than {max_query:,} characters.",
            )
        max_body = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if (
            max_body is not None
            and not request.content_type.startswith("multipart/")
            and _content_length(request) > max_body
        ):
            return self.too_large(request)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception):
        if isinstance(exception, RequestDataTooBig) and not _is_json_door(request):
            # The API doors map this themselves, in their own error shapes.
            return self.too_large(request)
        return None

    def too_large(self, request: HttpRequest) -> HttpResponse:
        return limit_response(
            request,
            status=413,
            code="request_too_large",
            message=(
                f"The request body is larger than "
                f"{settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes. Send less at once."
            ),
        )
