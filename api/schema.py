"""The /api OpenAPI description: example ids and bodies, error responses, the schema hook."""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse
from rest_framework import serializers

# Example ids: the schemathesis run creates rows with these, so generated requests land.
CONV_ID = "conv_3f2a9c0d4e5b6a7980f1e2d3c4b5a69788796a5b4c3d2e1f"
MSG_ID = "msg_8e7d6c5b4a392817f6e5d4c3b2a19087a6b5c4d3e2f1a0b9"
MSG_ID_2 = "msg_1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7081"
PROJ_ID = "proj_5c4b3a291807f6e5d4c3b2a190f8e7d6c5b4a3928170f6e5"
SHARE_TOKEN = "q8Zk3v1m0xY2nT6pR4sW9aB7cD5eF3gH1jK0lM2nP4"
STAMP = "2026-11-21T18:30:00Z"

CONVERSATION_EXAMPLE = {
    "id": CONV_ID,
    "title": "Trip to Lisbon",
    "project": PROJ_ID,
    "status": "active",
    "status_reason": "",
    "pinned": False,
    "archived": False,
    "metadata": {"source": "mobile"},
    "message_count": 4,
    "preview": "What should I see in Alfama?",
    "created_at": STAMP,
    "updated_at": STAMP,
}
USER_MESSAGE_EXAMPLE = {
    "id": MSG_ID,
    "role": "user",
    "content": "What should I see in Alfama?",
    "status": "completed",
    "status_reason": "",
    "model": "",
    "input_tokens": 0,
    "output_tokens": 0,
    "created_at": STAMP,
    "updated_at": STAMP,
    "feedback": None,
}
REPLY_EXAMPLE = {
    **USER_MESSAGE_EXAMPLE,
    "id": MSG_ID_2,
    "role": "assistant",
    "content": "",
    "status": "in_progress",
    "model": "gpt-4o-mini",
}

PROJECT_EXAMPLE = {
    "id": PROJ_ID,
    "title": "Travel",
    "description": "Trips and plans",
    "instructions": "Answer briefly; prices in euros.",
    "created_at": STAMP,
    "updated_at": STAMP,
}
SHARE_EXAMPLE = {
    "token": SHARE_TOKEN,
    "url": f"https://chat.example.com/s/{SHARE_TOKEN}/",
    "conversation": CONV_ID,
    "message": MSG_ID_2,
    "include_context": True,
    "show_model_names": True,
    "created_at": STAMP,
    "expires_at": None,
    "revoked_at": None,
    "view_count": 3,
}

SUMMARY_EXAMPLE = {
    k: v for k, v in CONVERSATION_EXAMPLE.items() if k not in ("metadata", "status_reason")
}
PAGE_EXAMPLE = OpenApiExample(
    "A page",
    value={"data": [SUMMARY_EXAMPLE], "has_more": True, "next_after": "MjAyNi0xMS0yMVQ"},
    response_only=True,
)
CONVERSATION_RESPONSE_EXAMPLE = OpenApiExample(
    "Conversation", value=CONVERSATION_EXAMPLE, response_only=True
)
SEND_RESPONSE_EXAMPLE = OpenApiExample(
    "Generation started",
    value={"user_message": USER_MESSAGE_EXAMPLE, "assistant_message": REPLY_EXAMPLE},
    response_only=True,
    status_codes=[202, 200],
)

MESSAGE_RESPONSE_EXAMPLE = OpenApiExample("Message", value=REPLY_EXAMPLE, response_only=True)
RATED_REPLY_EXAMPLE = {
    **REPLY_EXAMPLE,
    "content": "Alfama is the old town…",
    "status": "completed",
    "feedback": {"rating": "down", "comment": "The tram line is wrong.", "updated_at": STAMP},
}
PROJECT_RESPONSE_EXAMPLE = OpenApiExample("Project", value=PROJECT_EXAMPLE, response_only=True)


# Errors: the body core.errors.api_error_body renders, per status.


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


def _error(code: str, message: str, **extra) -> dict:
    return {"error": {"code": code, "message": message, **extra}}


ERROR_EXAMPLES = {
    400: _error("invalid", "Invalid input.", fields={"title": ["This field may not be blank."]}),
    401: _error("not_authenticated", "Authentication credentials were not provided."),
    403: _error("conversation_not_open", "This conversation is locked: Under review"),
    404: _error("not_found", "Not found."),
    409: _error(
        "generation_in_progress",
        "A reply is still being generated in this conversation. Wait for it or stop it.",
    ),
    413: _error("message_too_long", "Messages are at most 100,000 characters."),
    429: _error("throttled", "Too many requests. Try again in 12 seconds."),
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


# The server-sent events endpoint is a plain async view drf-spectacular cannot see.


SSE_EXAMPLE = (
    f'data: {{"type": "message", "message": {{"id": "{MSG_ID_2}", "status": "in_progress", '
    '"content": "Alfama is", ...}}\n\n'
    f'data: {{"type": "delta", "message_id": "{MSG_ID_2}", "delta": " the old town"}}\n\n'
    f'data: {{"type": "done", "message": {{"id": "{MSG_ID_2}", "status": "completed", '
    '"content": "Alfama is the old town…", ...}}\n\n'
)


def _frame(kind: str, **fields) -> dict:
    return {
        "type": "object",
        "required": ["type", *fields],
        "properties": {"type": {"type": "string", "enum": [kind]}, **fields},
    }


_message_ref = {"$ref": "#/components/schemas/MessageOut"}
_string = {"type": "string"}
# One event of the stream: its `data` is JSON, one of the frames below.
SSE_EVENT_SCHEMA = {
    "type": "object",
    "required": ["data"],
    "properties": {
        "data": {
            "type": "string",
            "contentMediaType": "application/json",
            "contentSchema": {
                "oneOf": [
                    _frame("message", message=_message_ref),
                    _frame("delta", message_id=_string, delta=_string),
                    _frame("text", message_id=_string, text=_string),
                    _frame("done", message=_message_ref),
                ]
            },
        }
    },
}


def add_events_path(result, generator, request, public):
    """Describe the server-sent events endpoint (a plain async view) in the schema."""
    error = {"$ref": "#/components/schemas/Error"}
    result["paths"]["/api/messages/{public_id}/events/"] = {
        "get": {
            "operationId": "messages_events",
            "summary": "Follow a reply as server-sent events",
            "description": (
                "A `text/event-stream` of `data:` frames holding JSON: first "
                '`{"type": "message", "message": <Message>}` with the stored text, then '
                '`{"type": "delta", "message_id", "delta"}` for each piece of new text (or '
                '`{"type": "text", "message_id", "text"}` when the text was rewritten), and '
                'last `{"type": "done", "message": <Message>}` with the final status, after '
                "which the stream ends. Comment lines (`: keep-alive`) keep idle connections open."
            ),
            "tags": ["messages"],
            "parameters": [
                {"in": "path", "name": "public_id", "required": True, "schema": {"type": "string"}}
            ],
            "security": [{"ApiKeyAuth": []}, {"cookieAuth": []}],
            "responses": {
                "200": {
                    "description": "The reply's events until its final status.",
                    "content": {
                        "text/event-stream": {
                            "schema": SSE_EVENT_SCHEMA,
                            "examples": {"Stream": {"value": SSE_EXAMPLE}},
                        }
                    },
                },
                "401": {
                    "description": "Missing or invalid credentials.",
                    "content": {
                        "application/json": {
                            "schema": error,
                            "examples": {"Error 401": {"value": ERROR_EXAMPLES[401]}},
                        }
                    },
                },
                "404": {
                    "description": "Not found, or not yours (the same answer either way).",
                    "content": {
                        "application/json": {
                            "schema": error,
                            "examples": {"Error 404": {"value": ERROR_EXAMPLES[404]}},
                        }
                    },
                },
            },
        }
    }
    # Give every id in a path an example, so docs and generated clients show real-looking ids.
    examples = {
        "conversations": CONV_ID,
        "messages": MSG_ID_2,
        "projects": PROJ_ID,
        "shares": SHARE_TOKEN,
    }
    for path, item in result["paths"].items():
        segment = path.split("/")[2]
        for operation in item.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path" and segment in examples:
                    parameter["example"] = examples[segment]
    return result


QUERY_TOO_LONG_EXAMPLE = {
    "error": {
        "code": "query_too_long",
        "message": "The query string is longer than 4,096 characters.",
        "type": "invalid_request_error",
        "param": None,
    }
}


def add_query_limit(result, generator, request, public):
    """drf-spectacular hook: every operation can answer 414 (see core.limits)."""
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.get("responses") if isinstance(operation, dict) else None
            if responses is None or "414" in responses:
                continue
            responses["414"] = {
                "description": "The query string is longer than MAX_QUERY_STRING_LENGTH.",
                "content": {
                    "application/json": {
                        "schema": {"type": "object"},
                        "examples": {"Error414": {"value": QUERY_TOO_LONG_EXAMPLE}},
                    }
                },
            }
    return result
