"""OpenAI Conversations API shapes: parse request bodies and query strings, build responses.

Hand-written rather than DRF serializers: the input is OpenAI's polymorphic item union and
each error has to name the exact parameter path (`items[2].content[0].type`).
"""

from dataclasses import dataclass

from django.conf import settings

from conversations.models import Message
from v1.errors import ApiError, invalid

MAX_ITEMS_PER_REQUEST = 20
DEFAULT_LIMIT = 20
MAX_LIMIT = 100

# Roles a client may send, mapped to the stored role (we have no separate developer role).
INPUT_ROLES = {
    "user": Message.Role.USER,
    "assistant": Message.Role.ASSISTANT,
    "system": Message.Role.SYSTEM,
    "developer": Message.Role.SYSTEM,
}
TEXT_PART_TYPES = ("input_text", "output_text", "text")
# Fields of the SDK's message item params; `id`, `status` and `phase` are accepted and ignored.
ITEM_FIELDS = {"type", "role", "content", "id", "status", "phase"}
# The SDK's ResponseIncludable values; none adds anything to a text message, so they are
# accepted and have no effect.
INCLUDABLE = frozenset(
    {
        "file_search_call.results",
        "web_search_call.results",
        "web_search_call.action.sources",
        "message.input_image.image_url",
        "computer_call_output.output.image_url",
        "code_interpreter_call.outputs",
        "reasoning.encrypted_content",
        "message.output_text.logprobs",
    }
)
ITEM_STATUS = {
    Message.Status.IN_PROGRESS: "in_progress",
    Message.Status.COMPLETED: "completed",
    Message.Status.STOPPED: "incomplete",
    Message.Status.INCOMPLETE: "incomplete",
    Message.Status.FAILED: "incomplete",
}


@dataclass(frozen=True)
class NewItem:
    role: str
    content: str


@dataclass(frozen=True)
class ListParams:
    after: str | None
    limit: int
    order: str


# Responses


def unix(moment) -> int:
    return int(moment.timestamp())


def iso(moment) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def conversation_object(conversation) -> dict:
    """Return the OpenAI conversation object, plus our `title` extension."""
    return {
        "id": conversation.public_id,
        "object": "conversation",
        "created_at": unix(conversation.created_at),
        "metadata": conversation.metadata or {},
        "title": conversation.title or None,
    }


def jan_conversation_object(conversation) -> dict:
    """Return the conversation object plus the Jan guide's fields as extensions.

    `created_at` stays Unix seconds (the SDK parses it as an int); the guide's ISO string is
    `created_at_iso`, and `updated_at` is ISO as the guide shows it.
    """
    project = conversation.project if conversation.project_id else None
    return {
        **conversation_object(conversation),
        "project_id": project.public_id if project else None,
        "created_at_iso": iso(conversation.created_at),
        "updated_at": iso(conversation.updated_at),
        "item_count": conversation.message_count,
    }


def deleted_object(public_id: str) -> dict:
    return {"id": public_id, "object": "conversation.deleted", "deleted": True}


def item_object(message: Message) -> dict:
    """Return a message as an OpenAI message item: the assistant speaks `output_text`."""
    if message.role == Message.Role.ASSISTANT:
        part = {"type": "output_text", "text": message.content, "annotations": [], "logprobs": []}
    else:
        part = {"type": "input_text", "text": message.content}
    return {
        "id": message.public_id,
        "type": "message",
        "role": message.role,
        "status": ITEM_STATUS.get(message.status, "completed"),
        "content": [part],
    }


def jan_item_object(message: Message, **extra) -> dict:
    """Return an item as the Jan guide shows it: `content` a string, `created_at` ISO."""
    return {
        "id": message.public_id,
        "object": "conversation.item",
        "type": "message",
        "role": message.role,
        "content": message.content,
        "status": ITEM_STATUS.get(message.status, "completed"),
        "created_at": iso(message.created_at),
        **extra,
    }


def list_object(data: list[dict], *, has_more: bool) -> dict:
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": has_more,
    }


def jan_list_object(data: list[dict], *, has_more: bool) -> dict:
    """Return OpenAI's list envelope plus the guide's `next_after` cursor (null at the end)."""
    return {
        **list_object(data, has_more=has_more),
        "next_after": data[-1]["id"] if data and has_more else None,
    }


def project_object(project) -> dict:
    return {
        "id": project.public_id,
        "object": "project",
        "title": project.title,
        "description": project.description,
        "created_at": iso(project.created_at),
        "updated_at": iso(project.updated_at),
    }


def share_object(share, url: str, **extra) -> dict:
    return {
        "share_id": share.token,
        "object": "share",
        "url": url,
        "expires_at": iso(share.expires_at),
        **extra,
    }


def parse_string(value, *, param: str, required: bool = True, max_length: int = 200) -> str:
    """Return a non-empty string parameter (or "" when optional and absent)."""
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip():
        raise invalid(f"'{param}' must be a non-empty string.", param=param)
    if len(value) > max_length:
        raise invalid(f"'{param}' is at most {max_length} characters.", param=param)
    return value


def parse_bool(value, *, param: str, default: bool) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool):
        raise invalid(f"'{param}' must be true or false.", param=param)
    return value


def parse_expires_in(value, *, param: str = "expires_in") -> int | None:
    """Return the lifetime in seconds (1 s .. 1 year), or None for a link that never expires."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 366 * 86400:
        raise invalid(f"'{param}' must be a number of seconds from 1 to 31622400.", param=param)
    return value


def parse_id_list(value, *, param: str, max_length: int) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise invalid(f"'{param}' must be a non-empty list of ids.", param=param)
    if len(value) > max_length:
        raise invalid(
            f"At most {max_length} ids at a time (got {len(value)}).",
            param=param,
            code="array_above_max_length",
        )
    return value


# Requests


def check_fields(body: dict, allowed: set[str], *, prefix: str = "") -> None:
    """Refuse parameters this endpoint does not know, as OpenAI does."""
    for name in body:
        if name not in allowed:
            raise invalid(
                f"Unknown parameter: '{prefix}{name}'.",
                param=f"{prefix}{name}",
                code="unknown_parameter",
            )


def parse_text(value, *, param: str) -> str:
    """Return the text of string content or of a list of text content parts."""
    if isinstance(value, str):
        text = value
    elif isinstance(value, list) and value:
        texts = []
        for index, part in enumerate(value):
            part_param = f"{param}[{index}]"
            if not isinstance(part, dict):
                raise invalid("Each content part must be an object.", param=part_param)
            if part.get("type") not in TEXT_PART_TYPES:
                raise invalid(
                    "Only text content parts (input_text, output_text) are supported.",
                    param=f"{part_param}.type",
                )
            if not isinstance(part.get("text"), str):
                raise invalid("A text part needs a string 'text'.", param=f"{part_param}.text")
            texts.append(part["text"])
        text = "\n\n".join(texts)
    else:
        raise invalid(
            "Content must be a string or a non-empty list of text content parts.", param=param
        )
    if not text.strip():
        raise invalid("Content must not be empty.", param=param)
    if len(text) > settings.MAX_MESSAGE_CHARS:
        raise ApiError(
            f"Messages are at most {settings.MAX_MESSAGE_CHARS:,} characters "
            f"(this one has {len(text):,}).",
            status=413,
            param=param,
            code="message_too_long",
        )
    return text


def parse_items(value, *, param: str = "items", required: bool) -> list[NewItem]:
    """Return the message items of a request body, validated before anything is written."""
    if value is None and not required:
        return []
    if not isinstance(value, list) or (required and not value):
        raise invalid("'items' must be a non-empty list of message items.", param=param)
    if len(value) > MAX_ITEMS_PER_REQUEST:
        raise invalid(
            f"At most {MAX_ITEMS_PER_REQUEST} items can be added at a time (got {len(value)}).",
            param=param,
            code="array_above_max_length",
        )
    items = []
    for index, item in enumerate(value):
        item_param = f"{param}[{index}]"
        if not isinstance(item, dict):
            raise invalid("Each item must be an object.", param=item_param)
        if item.get("type", "message") != "message":
            raise invalid("Only 'message' items are supported.", param=f"{item_param}.type")
        check_fields(item, ITEM_FIELDS, prefix=f"{item_param}.")
        role = item.get("role")
        if not isinstance(role, str) or role not in INPUT_ROLES:
            raise invalid(
                f"Role must be one of: {', '.join(INPUT_ROLES)}.", param=f"{item_param}.role"
            )
        content = parse_text(item.get("content"), param=f"{item_param}.content")
        items.append(NewItem(role=INPUT_ROLES[role], content=content))
    return items


def parse_metadata(value, *, param: str = "metadata") -> dict:
    """Return the metadata map (null means empty); limits are checked by the service."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise invalid("Metadata must be an object of string keys and values.", param=param)
    return value


def parse_title(value, *, param: str = "title") -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise invalid("Title must be a string.", param=param)
    return value


def parse_list_params(query) -> ListParams:
    """Return `after`, `limit` (1..100, default 20) and `order` (desc by default)."""
    raw_limit = query.get("limit")
    if raw_limit in (None, ""):
        limit = DEFAULT_LIMIT
    else:
        try:
            limit = int(raw_limit)
        except ValueError:
            limit = 0
        if not 1 <= limit <= MAX_LIMIT:
            raise invalid(f"'limit' must be an integer from 1 to {MAX_LIMIT}.", param="limit")
    order = query.get("order") or "desc"
    if order not in ("asc", "desc"):
        raise invalid("'order' must be 'asc' or 'desc'.", param="order")
    parse_include(query)
    return ListParams(after=query.get("after") or None, limit=limit, order=order)


def parse_include(query) -> list[str]:
    """Return the `include` values (sent as include[]=… by the SDK, or include=…)."""
    values = query.getlist("include[]") + query.getlist("include")
    for value in values:
        if value not in INCLUDABLE:
            raise invalid(f"Unknown value for 'include': '{value}'.", param="include")
    return values
