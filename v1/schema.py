"""The /v1 door in the OpenAPI document: every route, its bodies, answers and examples.

The /v1 views parse OpenAI's polymorphic bodies by hand (v1/serializers.py), so drf-spectacular
has nothing to introspect; this module describes them as plain OpenAPI 3.1 and a schema hook
(`add_v1_paths`) adds them to /api/schema/, so one document and one docs page cover both doors.
tests/v1/test_schema.py checks that every /v1 route and method is here and that schemathesis'
generated requests get documented answers that match these shapes.
"""

import copy

from django.conf import settings

# Example ids (api and v1 sit side by side, so these are /v1's own): tests/v1/test_schema.py
# creates rows with them, so schemathesis' requests built from the examples land.
CONV_ID = "conv_6b1e0c9d8a7f65e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8"
MSG_ID = "msg_2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293"
MSG_ID_2 = "msg_9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a3928"
PROJ_ID = "proj_0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6071"
SHARE_TOKEN = "Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0Fe9Dc8Ba7Zy6X"
RESPONSE_ID = f"resp_{MSG_ID_2}"
UNIX = 1763749800
ISO = "2026-11-21T18:30:00Z"
PATH_EXAMPLES = {
    "conversation_id": CONV_ID,
    "item_id": MSG_ID,
    "project_id": PROJ_ID,
    "share_id": SHARE_TOKEN,
    "response_id": RESPONSE_ID,
}


def _nullable(kind: str, **extra) -> dict:
    return {"type": [kind, "null"], **extra}


def _object(required: list[str], **properties) -> dict:
    return {"type": "object", "required": required, "properties": properties}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


STRING = {"type": "string"}
INTEGER = {"type": "integer"}
BOOLEAN = {"type": "boolean"}
ITEM_STATUS = {"type": "string", "enum": ["in_progress", "completed", "incomplete"]}
ROLE = {"type": "string", "enum": ["user", "assistant", "system"]}
METADATA = {
    "type": "object",
    "description": "At most 16 string keys (64 characters) and string values (512).",
    "maxProperties": 16,
    "additionalProperties": {"type": "string", "maxLength": 512},
    "propertyNames": {"maxLength": 64},
}
TEXT_PART = _object(
    ["type", "text"],
    type={"type": "string", "enum": ["input_text", "output_text", "text"]},
    text=STRING,
)
CONTENT_IN = {
    "description": "A string, or a list of text content parts joined by blank lines.",
    "oneOf": [STRING, {"type": "array", "minItems": 1, "items": TEXT_PART}],
}
INPUT_ITEM = {
    **_object(
        ["role", "content"],
        type={"type": "string", "enum": ["message"]},
        role={"type": "string", "enum": ["user", "assistant", "system", "developer"]},
        content=CONTENT_IN,
        id=STRING,
        status=STRING,
        phase=STRING,
    ),
    "additionalProperties": False,
}
# `conversation` of a generation request: an id, {"id": ...}, or null for a new conversation.
CONVERSATION_REF = {"oneOf": [{"type": "null"}, STRING, _object(["id"], id=STRING)]}
INPUT_ITEMS = {"type": "array", "minItems": 1, "maxItems": 20, "items": INPUT_ITEM}

SCHEMAS = {
    "V1Error": _object(
        ["error"],
        error=_object(
            ["message", "type", "param", "code"],
            message=STRING,
            type=STRING,
            param=_nullable("string"),
            code=_nullable("string"),
        ),
    ),
    "V1Conversation": _object(
        ["id", "object", "created_at", "metadata"],
        id=STRING,
        object={"type": "string", "enum": ["conversation"]},
        created_at={**INTEGER, "description": "Unix seconds (what the SDK parses)."},
        metadata={"type": "object", "additionalProperties": STRING},
        title=_nullable("string"),
    ),
    "V1JanConversation": {
        "allOf": [
            _ref("V1Conversation"),
            _object(
                ["project_id", "created_at_iso", "updated_at", "item_count"],
                project_id=_nullable("string"),
                created_at_iso={**STRING, "format": "date-time"},
                updated_at={**STRING, "format": "date-time"},
                item_count=INTEGER,
            ),
        ]
    },
    "V1ConversationWithItems": {
        "allOf": [
            _ref("V1JanConversation"),
            _object(
                ["items", "items_has_more"],
                items={"type": "array", "items": _ref("V1JanItem")},
                items_has_more=BOOLEAN,
            ),
        ]
    },
    "V1ConversationList": _object(
        ["object", "data", "first_id", "last_id", "has_more", "next_after"],
        object={"type": "string", "enum": ["list"]},
        data={"type": "array", "items": _ref("V1JanConversation")},
        first_id=_nullable("string"),
        last_id=_nullable("string"),
        has_more=BOOLEAN,
        next_after=_nullable("string"),
    ),
    "V1Deleted": _object(
        ["id", "object", "deleted"], id=STRING, object=STRING, deleted={"const": True}
    ),
    "V1Item": _object(
        ["id", "type", "role", "status", "content"],
        id=STRING,
        type={"type": "string", "enum": ["message"]},
        role=ROLE,
        status=ITEM_STATUS,
        content={"type": "array", "items": _object(["type", "text"], type=STRING, text=STRING)},
    ),
    "V1ItemList": _object(
        ["object", "data", "first_id", "last_id", "has_more"],
        object={"type": "string", "enum": ["list"]},
        data={"type": "array", "items": _ref("V1Item")},
        first_id=_nullable("string"),
        last_id=_nullable("string"),
        has_more=BOOLEAN,
    ),
    "V1JanItem": _object(
        ["id", "object", "type", "role", "content", "status", "created_at"],
        id=STRING,
        object={"type": "string", "enum": ["conversation.item"]},
        type={"type": "string", "enum": ["message"]},
        role=ROLE,
        content=STRING,
        status=ITEM_STATUS,
        created_at={**STRING, "format": "date-time"},
        call_id=_nullable("string"),
    ),
    "V1Turn": {
        "allOf": [
            _ref("V1JanItem"),
            _object(["reply"], reply=_ref("V1JanItem")),
        ]
    },
    "V1BulkDeleted": _object(
        ["object", "deleted_count", "failed_count", "failed_ids"],
        object={"type": "string", "enum": ["conversation.bulk_deleted"]},
        deleted_count=INTEGER,
        failed_count=INTEGER,
        failed_ids={"type": "array", "items": STRING},
    ),
    "V1Share": _object(
        ["share_id", "object", "url", "expires_at", "read_only"],
        share_id=STRING,
        object={"type": "string", "enum": ["share"]},
        url={**STRING, "format": "uri"},
        expires_at=_nullable("string", format="date-time"),
        read_only=BOOLEAN,
        include_context=BOOLEAN,
    ),
    "V1ShareDeleted": _object(
        ["share_id", "object", "deleted"],
        share_id=STRING,
        object={"type": "string", "enum": ["share.deleted"]},
        deleted={"const": True},
    ),
    "V1Project": _object(
        ["id", "object", "title", "description", "created_at", "updated_at"],
        id=STRING,
        object={"type": "string", "enum": ["project"]},
        title=STRING,
        description=STRING,
        created_at={**STRING, "format": "date-time"},
        updated_at={**STRING, "format": "date-time"},
    ),
    "V1ProjectList": _object(
        ["object", "data", "has_more"],
        object={"type": "string", "enum": ["list"]},
        data={"type": "array", "items": _ref("V1Project")},
        first_id=_nullable("string"),
        last_id=_nullable("string"),
        has_more=BOOLEAN,
    ),
    "V1Response": _object(
        ["id", "object", "created_at", "status", "model", "output", "conversation", "usage"],
        id=STRING,
        object={"type": "string", "enum": ["response"]},
        created_at=INTEGER,
        status={
            "type": "string",
            "enum": ["in_progress", "completed", "cancelled", "incomplete", "failed"],
        },
        model=STRING,
        instructions=_nullable("string"),
        output={
            "type": "array",
            "items": _object(
                ["id", "type", "role", "status", "content"],
                id=STRING,
                type={"type": "string", "enum": ["message"]},
                role={"type": "string", "enum": ["assistant"]},
                status=ITEM_STATUS,
                content={"type": "array", "items": TEXT_PART},
            ),
        },
        conversation=_object(["id"], id=STRING),
        error=_nullable("object"),
        incomplete_details=_nullable("object"),
        usage=_object(
            ["input_tokens", "output_tokens", "total_tokens"],
            input_tokens=INTEGER,
            output_tokens=INTEGER,
            total_tokens=INTEGER,
        ),
    ),
    "V1ChatCompletion": _object(
        ["id", "object", "created", "model", "choices", "usage"],
        id=STRING,
        object={"type": "string", "enum": ["chat.completion"]},
        created=INTEGER,
        model=STRING,
        conversation={**STRING, "description": "Extension: where the turn was stored."},
        choices={
            "type": "array",
            "items": _object(
                ["index", "message", "finish_reason"],
                index=INTEGER,
                message=_object(
                    ["role", "content"], role=STRING, content=_nullable("string"), refusal={}
                ),
                finish_reason=STRING,
                logprobs={},
            ),
        },
        usage=_object(
            ["prompt_tokens", "completion_tokens", "total_tokens"],
            prompt_tokens=INTEGER,
            completion_tokens=INTEGER,
            total_tokens=INTEGER,
        ),
    ),
    "V1ModelList": _object(
        ["object", "data"],
        object={"type": "string", "enum": ["list"]},
        data={
            "type": "array",
            "items": _object(
                ["id", "object", "created", "owned_by"],
                id=STRING,
                object={"type": "string", "enum": ["model"]},
                created=INTEGER,
                owned_by=STRING,
            ),
        },
    ),
}

# Examples: real shapes, with the ids the schemathesis run creates.

CONVERSATION = {
    "id": CONV_ID,
    "object": "conversation",
    "created_at": UNIX,
    "metadata": {"source": "mobile"},
    "title": "Trip to Lisbon",
}
JAN_CONVERSATION = {
    **CONVERSATION,
    "project_id": PROJ_ID,
    "created_at_iso": ISO,
    "updated_at": ISO,
    "item_count": 2,
}
JAN_QUESTION = {
    "id": MSG_ID,
    "object": "conversation.item",
    "type": "message",
    "role": "user",
    "content": "What should I see in Alfama?",
    "status": "completed",
    "created_at": ISO,
}
JAN_REPLY = {
    **JAN_QUESTION,
    "id": MSG_ID_2,
    "role": "assistant",
    "content": "",
    "status": "in_progress",
}
ITEM = {
    "id": MSG_ID,
    "type": "message",
    "role": "user",
    "status": "completed",
    "content": [{"type": "input_text", "text": "What should I see in Alfama?"}],
}
PROJECT = {
    "id": PROJ_ID,
    "object": "project",
    "title": "Travel",
    "description": "Trips and plans",
    "created_at": ISO,
    "updated_at": ISO,
}
SHARE = {
    "share_id": SHARE_TOKEN,
    "object": "share",
    "url": f"https://chat.example.com/s/{SHARE_TOKEN}/",
    "expires_at": "2026-11-28T18:30:00Z",
    "read_only": True,
}
RESPONSE = {
    "id": RESPONSE_ID,
    "object": "response",
    "created_at": UNIX,
    "status": "completed",
    "model": "gpt-4o-mini",
    "instructions": None,
    "output": [
        {
            "id": MSG_ID_2,
            "type": "message",
            "role": "assistant",
            "status": "completed",
            "content": [
                {
                    "type": "output_text",
                    "text": "The castle, the Sé and the miradouros.",
                    "annotations": [],
                    "logprobs": [],
                }
            ],
        }
    ],
    "conversation": {"id": CONV_ID},
    "error": None,
    "incomplete_details": None,
    "usage": {"input_tokens": 42, "output_tokens": 11, "total_tokens": 53},
}
RESPONSE_STREAM = (
    "event: response.created\n"
    'data: {"type": "response.created", "sequence_number": 0, "response": {…}}\n\n'
    "event: response.output_text.delta\n"
    'data: {"type": "response.output_text.delta", "sequence_number": 4, '
    f'"item_id": "{MSG_ID_2}", "output_index": 0, "content_index": 0, "delta": "The castle"}}\n\n'
    "event: response.completed\n"
    'data: {"type": "response.completed", "sequence_number": 9, "response": {…}}\n\n'
)
COMPLETION = {
    "id": f"chatcmpl-{MSG_ID_2}",
    "object": "chat.completion",
    "created": UNIX,
    "model": "gpt-4o-mini",
    "conversation": CONV_ID,
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Hello!", "refusal": None},
            "finish_reason": "stop",
            "logprobs": None,
        }
    ],
    "usage": {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11},
}
COMPLETION_STREAM = (
    'data: {"id": "chatcmpl-…", "object": "chat.completion.chunk", "choices": '
    '[{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": null}]}\n\n'
    'data: {"id": "chatcmpl-…", "object": "chat.completion.chunk", "choices": '
    '[{"index": 0, "delta": {"content": "Hello!"}, "finish_reason": null}]}\n\n'
    'data: {"id": "chatcmpl-…", "object": "chat.completion.chunk", "choices": '
    '[{"index": 0, "delta": {}, "finish_reason": "stop"}]}\n\n'
    "data: [DONE]\n\n"
)


def _events(data: dict) -> dict:
    """The schema of one server-sent event (what a client's SSE parser yields)."""
    return {
        "type": "object",
        "required": ["data"],
        "properties": {"event": STRING, "id": STRING, "retry": INTEGER, "data": data},
    }


RESPONSE_EVENT = _events(
    {
        "type": "string",
        "contentMediaType": "application/json",
        "contentSchema": _object(
            ["type", "sequence_number"],
            type={"type": "string", "pattern": "^response\\."},
            sequence_number=INTEGER,
        ),
    }
)
# Each chunk is a chat.completion.chunk object; the last event's data is `[DONE]`.
COMPLETION_EVENT = _events(STRING)


def _list(data: list, **extra) -> dict:
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": False,
        **extra,
    }


ERRORS = {
    400: ("Invalid input; `param` names the parameter.", "invalid_value", "'limit' must be …"),
    401: ("Missing or invalid API key.", "invalid_api_key", "Incorrect API key provided."),
    403: ("The conversation is locked or closed.", "conversation_not_open", "It is locked."),
    404: ("Not found, or not yours (the same answer either way).", "not_found", "Not found."),
    409: ("A reply is still being generated here.", "generation_in_progress", "Wait or stop."),
    413: ("The message or the body is too large.", "message_too_long", "At most 100,000."),
    429: ("Too many requests or failed key checks; see Retry-After.", "rate_limit_exceeded", ""),
}
ERROR_TYPES = {401: "authentication_error", 403: "permission_error", 404: "not_found_error"}


def _error_responses() -> dict:
    responses = {}
    for status, (description, code, message) in ERRORS.items():
        example = {
            "error": {
                "message": message or "Rate limit reached. Try again in 12 seconds.",
                "type": ERROR_TYPES.get(status, "invalid_request_error"),
                "param": "limit" if status == 400 else None,
                "code": code,
            }
        }
        responses[str(status)] = {
            "description": description,
            "content": {
                "application/json": {
                    "schema": _ref("V1Error"),
                    "examples": {f"Error{status}": {"value": example}},
                }
            },
        }
    return responses


def _json(schema: dict, example, description: str = "OK") -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": schema, "examples": {"Example": example}}},
    }


def _body(properties: dict, example: dict, required=(), **extra) -> dict:
    schema = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
        **({"required": list(required)} if required else {}),
        **extra,
    }
    return {
        "required": bool(required),
        "content": {"application/json": {"schema": schema, "examples": {"Example": example}}},
    }


def _query(name: str, schema: dict, description: str, example=None) -> dict:
    parameter = {"in": "query", "name": name, "schema": schema, "description": description}
    if example is not None:
        parameter["example"] = example
    return parameter


LIST_QUERY = [
    _query("limit", {"type": "integer", "minimum": 1, "maximum": 100}, "Page size (20).", 20),
    _query("after", STRING, "Continue after this id (the previous page's `next_after`)."),
    _query("order", {"type": "string", "enum": ["asc", "desc"]}, "By last activity (desc)."),
]
INCLUDE_QUERY = {
    "in": "query",
    "name": "include",
    "schema": {"type": "array", "items": STRING},
    "description": "OpenAI's `include[]` values; accepted, they add nothing to text items.",
}


def _v(example) -> dict:
    return {"value": example}


def operations() -> dict:
    """Return /v1's paths: {path: {method: (summary, description, tag, parts)}} as OpenAPI."""
    c = "/v1/conversations/{conversation_id}"
    item = c + "/items/{item_id}"
    # The configured models (read when the document is built): any other is a 400.
    model = {"type": "string", "enum": list(settings.CHAT_MODELS), "description": "GET /v1/models."}
    generation_fields = {
        "model": model,
        "stream": BOOLEAN,
        "store": {},
        "metadata": {},
        "temperature": {},
        "top_p": {},
        "user": {},
        "stream_options": {},
    }
    return {
        "/v1/conversations": {
            "get": dict(
                summary="List conversations (Jan guide)",
                description="The key owner's conversations by last activity, keyset-paged; "
                "`project_id` keeps one project's.",
                tag="v1 conversations",
                parameters=[
                    *LIST_QUERY,
                    _query("project_id", STRING, "Only this project's conversations."),
                ],
                ok=_json(
                    _ref("V1ConversationList"), _v(_list([JAN_CONVERSATION], next_after=None))
                ),
            ),
            "post": dict(
                summary="Create a conversation",
                description="With optional title, project, metadata and up to 20 items, all "
                "or nothing (OpenAI `conversations.create` and the Jan guide).",
                tag="v1 conversations",
                body=_body(
                    {
                        "title": {**STRING, "maxLength": 200},
                        "project_id": _nullable("string"),
                        "metadata": {**METADATA, "type": ["object", "null"]},
                        "items": {**INPUT_ITEMS, "type": ["array", "null"]},
                    },
                    _v(
                        {
                            "title": "Trip to Lisbon",
                            "project_id": PROJ_ID,
                            "items": [{"role": "user", "content": "Plan three days."}],
                        }
                    ),
                ),
                ok=_json(_ref("V1JanConversation"), _v(JAN_CONVERSATION)),
            ),
        },
        c: {
            "get": dict(
                summary="Get a conversation with its newest items",
                description="The newest `items_limit` (100) items of the active branch, oldest "
                "first; older ones through `GET …/items?after=`.",
                tag="v1 conversations",
                parameters=[
                    _query(
                        "items_limit",
                        {"type": "integer", "minimum": 0, "maximum": 100},
                        "How many items (100).",
                    )
                ],
                ok=_json(
                    _ref("V1ConversationWithItems"),
                    _v(
                        {
                            **JAN_CONVERSATION,
                            "items": [JAN_QUESTION, {**JAN_REPLY, "status": "completed"}],
                            "items_has_more": False,
                        }
                    ),
                ),
            ),
            "patch": dict(
                summary="Rename or move a conversation (Jan guide)",
                description="`title`, `project_id` (null takes it out of its project), `metadata`.",
                tag="v1 conversations",
                body=_body(
                    {
                        "title": {**STRING, "maxLength": 200},
                        "project_id": _nullable("string"),
                        "metadata": {**METADATA, "type": ["object", "null"]},
                    },
                    _v({"title": "Lisbon in May"}),
                    minProperties=1,
                ),
                ok=_json(_ref("V1JanConversation"), _v(JAN_CONVERSATION)),
            ),
            "post": dict(
                summary="Replace a conversation's metadata (OpenAI `conversations.update`)",
                description="`title` renames as an extension.",
                tag="v1 conversations",
                body=_body(
                    {"metadata": {**METADATA, "type": ["object", "null"]}, "title": STRING},
                    _v({"metadata": {"topic": "travel"}}),
                    required=["metadata"],
                ),
                ok=_json(_ref("V1Conversation"), _v(CONVERSATION)),
            ),
            "delete": dict(
                summary="Delete a conversation",
                description="Answers 200 with a body, as the SDK expects (the guide shows 204).",
                tag="v1 conversations",
                ok=_json(
                    _ref("V1Deleted"),
                    _v({"id": CONV_ID, "object": "conversation.deleted", "deleted": True}),
                ),
            ),
        },
        "/v1/conversations/bulk-delete": {
            "post": dict(
                summary="Delete up to 100 conversations (Jan guide)",
                description="Ids that are missing or not yours are reported, not deleted.",
                tag="v1 conversations",
                body=_body(
                    {
                        "conversation_ids": {
                            "type": "array",
                            "minItems": 1,
                            "maxItems": 100,
                            "items": {**STRING, "minLength": 1},
                        }
                    },
                    _v({"conversation_ids": [CONV_ID, "conv_missing"]}),
                    required=["conversation_ids"],
                ),
                ok=_json(
                    _ref("V1BulkDeleted"),
                    _v(
                        {
                            "object": "conversation.bulk_deleted",
                            "deleted_count": 1,
                            "failed_count": 1,
                            "failed_ids": ["conv_missing"],
                        }
                    ),
                ),
            ),
        },
        c + "/items": {
            "get": dict(
                summary="List a conversation's items",
                description="The active branch, newest first unless `order=asc`.",
                tag="v1 items",
                parameters=[*LIST_QUERY, INCLUDE_QUERY],
                ok=_json(_ref("V1ItemList"), _v(_list([ITEM]))),
            ),
            "post": dict(
                summary="Add items",
                description="OpenAI's `{items: [...]}` (up to 20, answers a list) or the Jan "
                "guide's single `{role, content, call_id}` (answers that item; `call_id` is "
                "echoed, not stored).",
                tag="v1 items",
                parameters=[INCLUDE_QUERY],
                body={
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "oneOf": [
                                    {
                                        "type": "object",
                                        "required": ["items"],
                                        "properties": {"items": INPUT_ITEMS},
                                        "additionalProperties": False,
                                    },
                                    {
                                        **INPUT_ITEM,
                                        "properties": {
                                            **INPUT_ITEM["properties"],
                                            "call_id": _nullable("string"),
                                        },
                                    },
                                ]
                            },
                            "examples": {
                                "OpenAI": _v(
                                    {"items": [{"role": "user", "content": "And Belém?"}]}
                                ),
                                "Jan guide": _v(
                                    {"role": "user", "content": "And Belém?", "call_id": "c-1"}
                                ),
                            },
                        }
                    },
                },
                ok=_json(
                    {"anyOf": [_ref("V1ItemList"), _ref("V1JanItem")]},
                    _v(_list([ITEM])),
                ),
            ),
        },
        item: {
            "get": dict(
                summary="Get an item",
                tag="v1 items",
                parameters=[INCLUDE_QUERY],
                ok=_json(_ref("V1Item"), _v(ITEM)),
            ),
            "delete": dict(
                summary="Delete an item and the replies below it",
                description="Answers the conversation, as the SDK expects.",
                tag="v1 items",
                ok=_json(_ref("V1Conversation"), _v(CONVERSATION)),
            ),
        },
        item + "/edit": {
            "put": dict(
                summary="Edit a user message and reply again (Jan guide)",
                description="The edited copy sits beside the original (a new branch); the "
                "reply is generated as in the browser.",
                tag="v1 items",
                body=_body(
                    {"content": CONTENT_IN, "model": model},
                    _v({"content": "Plan four days instead."}),
                    required=["content"],
                ),
                ok=_json(_ref("V1Turn"), _v({**JAN_QUESTION, "reply": JAN_REPLY})),
            ),
        },
        item + "/regenerate": {
            "post": dict(
                summary="Generate another reply (Jan guide)",
                tag="v1 items",
                body=_body({"model": model}, _v({"model": settings.CHAT_MODELS[0]})),
                ok=_json(_ref("V1Turn"), _v({**JAN_QUESTION, "reply": JAN_REPLY})),
            ),
        },
        item + "/share": {
            "post": dict(
                summary="Share one message (Jan guide)",
                description="A read-only link to the message, with what led to it unless "
                "`include_context` is false.",
                tag="v1 shares",
                body=_body(
                    {
                        "expires_in": {"type": ["integer", "null"], "minimum": 1},
                        "include_context": BOOLEAN,
                    },
                    _v({"expires_in": 604800, "include_context": False}),
                ),
                ok=_json(_ref("V1Share"), _v({**SHARE, "include_context": False})),
            ),
        },
        c + "/share": {
            "post": dict(
                summary="Share a conversation (Jan guide)",
                description="A read-only snapshot link; `expires_in` seconds (none: never).",
                tag="v1 shares",
                body=_body(
                    {
                        "expires_in": {
                            "type": ["integer", "null"],
                            "minimum": 1,
                            "maximum": 31622400,
                        },
                        "read_only": {"type": "boolean", "const": True},
                    },
                    _v({"expires_in": 604800, "read_only": True}),
                ),
                ok=_json(_ref("V1Share"), _v(SHARE)),
            ),
        },
        c + "/share/{share_id}": {
            "delete": dict(
                summary="Revoke a share link (Jan guide)",
                tag="v1 shares",
                ok=_json(
                    _ref("V1ShareDeleted"),
                    _v({"share_id": SHARE_TOKEN, "object": "share.deleted", "deleted": True}),
                ),
            ),
        },
        "/v1/projects": {
            "get": dict(
                summary="List projects",
                tag="v1 projects",
                ok=_json(_ref("V1ProjectList"), _v(_list([PROJECT]))),
            ),
            "post": dict(
                summary="Create a project (Jan guide)",
                tag="v1 projects",
                body=_body(
                    {
                        "title": {**STRING, "minLength": 1, "maxLength": 200},
                        "description": STRING,
                        "instructions": STRING,
                    },
                    _v({"title": "Travel", "description": "Trips and plans"}),
                    required=["title"],
                ),
                ok=_json(_ref("V1Project"), _v(PROJECT)),
            ),
        },
        "/v1/projects/{project_id}/conversations": {
            "get": dict(
                summary="List a project's conversations (Jan guide)",
                tag="v1 projects",
                parameters=LIST_QUERY,
                ok=_json(
                    _ref("V1ConversationList"), _v(_list([JAN_CONVERSATION], next_after=None))
                ),
            ),
        },
        "/v1/responses": {
            "post": dict(
                summary="Create a response (OpenAI Responses API)",
                description="Appends `input` to `conversation` (a new one without it), "
                "generates through the browser's engine and answers the Response; with "
                "`stream: true` a `text/event-stream` of the Responses API's events, "
                "`response.created` … `response.output_text.delta` … `response.completed`. "
                "A client that disconnects does not stop the reply.",
                tag="v1 responses",
                body=_body(
                    {
                        **generation_fields,
                        "input": {
                            "oneOf": [{**STRING, "minLength": 1}, INPUT_ITEMS],
                        },
                        "instructions": _nullable("string"),
                        "conversation": CONVERSATION_REF,
                        "max_output_tokens": {},
                    },
                    _v(
                        {
                            "model": settings.CHAT_MODELS[0],
                            "input": "And Belém?",
                            "conversation": CONV_ID,
                        }
                    ),
                    required=["model", "input"],
                ),
                ok={
                    "description": "The Response, or its events with `stream: true`.",
                    "content": {
                        "application/json": {
                            "schema": _ref("V1Response"),
                            "examples": {"Example": _v(RESPONSE)},
                        },
                        "text/event-stream": {
                            "schema": RESPONSE_EVENT,
                            "examples": {"Stream": _v(RESPONSE_STREAM)},
                        },
                    },
                },
            ),
        },
        "/v1/responses/{response_id}": {
            "get": dict(
                summary="Get a response",
                tag="v1 responses",
                ok=_json(_ref("V1Response"), _v(RESPONSE)),
            ),
        },
        "/v1/responses/{response_id}/cancel": {
            "post": dict(
                summary="Cancel a response (Stop)",
                description="Stops the reply, keeping its text; answers it as it ended.",
                tag="v1 responses",
                ok=_json(_ref("V1Response"), _v({**RESPONSE, "status": "cancelled"})),
            ),
        },
        "/v1/chat/completions": {
            "post": dict(
                summary="Create a chat completion",
                description="Through the same engine. With `conversation` (an extension) the "
                "last user message and the reply are stored there; without it, in a new "
                "conversation. `stream: true` answers `chat.completion.chunk` events and "
                "`data: [DONE]`.",
                tag="v1 chat",
                body=_body(
                    {
                        **generation_fields,
                        "messages": INPUT_ITEMS,
                        "conversation": CONVERSATION_REF,
                        "max_tokens": {},
                        "max_completion_tokens": {},
                        "n": {"type": ["integer", "null"], "const": 1},
                    },
                    _v(
                        {
                            "model": settings.CHAT_MODELS[0],
                            "messages": [{"role": "user", "content": "Hi"}],
                        }
                    ),
                    required=["model", "messages"],
                ),
                ok={
                    "description": "The completion, or its chunks with `stream: true`.",
                    "content": {
                        "application/json": {
                            "schema": _ref("V1ChatCompletion"),
                            "examples": {"Example": _v(COMPLETION)},
                        },
                        "text/event-stream": {
                            "schema": COMPLETION_EVENT,
                            "examples": {"Stream": _v(COMPLETION_STREAM)},
                        },
                    },
                },
            ),
        },
        "/v1/models": {
            "get": dict(
                summary="List models",
                description="The configured chat models; the first is the default.",
                tag="v1 models",
                ok=_json(
                    _ref("V1ModelList"),
                    _v(
                        {
                            "object": "list",
                            "data": [
                                {
                                    "id": "gpt-4o-mini",
                                    "object": "model",
                                    "created": 0,
                                    "owned_by": "chatbot",
                                }
                            ],
                        }
                    ),
                ),
            ),
        },
    }


CONV_PATH = "/v1/conversations/{conversation_id}"
ITEM_PATH = CONV_PATH + "/items/{item_id}"
IN_PATH = "$request.path.conversation_id"
# OpenAPI links: where an answer's ids lead (docs show them; schemathesis follows them in
# its stateful run). {(path, method): {link: (target path, target method, parameters)}}.
LINKS = {
    ("/v1/conversations", "post"): {
        name: (target, method, {"conversation_id": "$response.body#/id"})
        for name, target, method in (
            ("GetConversation", CONV_PATH, "get"),
            ("RenameConversation", CONV_PATH, "patch"),
            ("DeleteConversation", CONV_PATH, "delete"),
            ("ListItems", CONV_PATH + "/items", "get"),
            ("AddItems", CONV_PATH + "/items", "post"),
            ("ShareConversation", CONV_PATH + "/share", "post"),
        )
    },
    (CONV_PATH + "/items", "post"): {
        name: (target, method, {"conversation_id": IN_PATH, "item_id": "$response.body#/data/0/id"})
        for name, target, method in (
            ("GetItem", ITEM_PATH, "get"),
            ("DeleteItem", ITEM_PATH, "delete"),
            ("EditItem", ITEM_PATH + "/edit", "put"),
            ("RegenerateItem", ITEM_PATH + "/regenerate", "post"),
            ("ShareItem", ITEM_PATH + "/share", "post"),
        )
    },
    (CONV_PATH + "/share", "post"): {
        "RevokeShare": (
            CONV_PATH + "/share/{share_id}",
            "delete",
            {"conversation_id": IN_PATH, "share_id": "$response.body#/share_id"},
        )
    },
    ("/v1/projects", "post"): {
        "ListProjectConversations": (
            "/v1/projects/{project_id}/conversations",
            "get",
            {"project_id": "$response.body#/id"},
        )
    },
    ("/v1/responses", "post"): {
        name: (
            target,
            "get" if name == "GetResponse" else "post",
            {"response_id": "$response.body#/id"},
        )
        for name, target in (
            ("GetResponse", "/v1/responses/{response_id}"),
            ("CancelResponse", "/v1/responses/{response_id}/cancel"),
        )
    },
}


def _operation_id(path: str, method: str) -> str:
    words = [w.strip("{}").replace("-", "_") for w in path.split("/")[1:]]
    return "_".join([*words, method])


def add_v1_paths(result, generator, request, public):
    """drf-spectacular hook: add every /v1 operation, its schemas and a tag description."""
    result.setdefault("components", {}).setdefault("schemas", {}).update(copy.deepcopy(SCHEMAS))
    errors = _error_responses()
    for path, methods in operations().items():
        item = result["paths"].setdefault(path, {})
        names = [part[1:-1] for part in path.split("/") if part.startswith("{")]
        for method, spec in methods.items():
            operation = {
                "operationId": _operation_id(path, method),
                "summary": spec["summary"],
                "tags": [spec["tag"]],
                "security": [{"ApiKeyAuth": []}],
                "parameters": [
                    {
                        "in": "path",
                        "name": name,
                        "required": True,
                        "schema": STRING,
                        "example": PATH_EXAMPLES[name],
                    }
                    for name in names
                ]
                + list(spec.get("parameters", [])),
                "responses": {"200": spec["ok"], **copy.deepcopy(errors)},
            }
            if "description" in spec:
                operation["description"] = spec["description"]
            if "body" in spec:
                operation["requestBody"] = spec["body"]
            links = LINKS.get((path, method), {})
            if links:
                operation["responses"]["200"] = {
                    **operation["responses"]["200"],
                    "links": {
                        name: {"operationId": _operation_id(target, verb), "parameters": params}
                        for name, (target, verb, params) in links.items()
                    },
                }
            item[method] = copy.deepcopy(operation)
    return result
