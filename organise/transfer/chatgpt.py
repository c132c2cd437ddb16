"""Read one conversation of a ChatGPT data export (conversations.json) into a plain tree."""

import re
from datetime import UTC, datetime

from conversations.models import TITLE_MAX_CHARS, Message
from organise.transfer.tree import ImportedConversation, ImportedMessage, Malformed

ROLES = {
    "user": Message.Role.USER,
    "assistant": Message.Role.ASSISTANT,
    "system": Message.Role.SYSTEM,
    "tool": Message.Role.TOOL,
}
# Context the user never saw as part of the conversation: custom instructions, memory,
# reasoning traces.
HIDDEN_CONTENT_TYPES = {
    "user_editable_context",
    "model_editable_context",
    "thoughts",
    "reasoning_recap",
}
STATUSES = {
    "finished_successfully": Message.Status.COMPLETED,
    "finished_partial_completion": Message.Status.INCOMPLETE,
    "in_progress": Message.Status.INCOMPLETE,
}


def timestamp(value, default: datetime | None = None) -> datetime | None:
    """Return an aware datetime from float seconds since the epoch, or default."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return default


def fenced(text: str, language: str = "") -> str:
    """Return text as a fenced code block whose fence no line inside can close."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{text.rstrip()}\n{fence}"


def _part_text(part) -> str:
    if isinstance(part, str):
        return part
    if isinstance(part, dict):
        kind = part.get("content_type", "")
        if kind == "image_asset_pointer":
            return "[image]"
        if kind == "audio_transcription":
            return str(part.get("text") or "")
        if "audio" in kind or "video" in kind:
            return "[audio]"
        if isinstance(part.get("text"), str):
            return part["text"]
        return "[attachment]"
    return "" if part is None else str(part)


def content_text(content) -> str | None:
    """Return readable Markdown for a message's content, or None if it stays hidden."""
    if not isinstance(content, dict):
        raise ValueError("message content is not an object")
    kind = content.get("content_type")
    if kind in HIDDEN_CONTENT_TYPES:
        return None
    if kind == "code":
        language = content.get("language") or ""
        return fenced(str(content.get("text") or ""), "" if language == "unknown" else language)
    if kind == "execution_output":
        return fenced(str(content.get("text") or ""))
    if kind == "tether_browsing_display":
        return str(content.get("result") or content.get("summary") or "")
    if kind == "tether_quote":
        quote = "\n".join(f"> {line}" for line in str(content.get("text") or "").splitlines())
        source = " ".join(str(content.get(k) or "") for k in ("title", "url")).strip()
        return f"{quote}\n\n{source}".strip()
    if kind == "system_error":
        return f"{content.get('name') or 'Error'}: {content.get('text') or ''}".strip()
    if "parts" in content:
        parts = content["parts"]
        if not isinstance(parts, list):
            raise ValueError("message parts are not a list")
        return "\n\n".join(text for text in map(_part_text, parts) if text)
    for key in ("text", "result"):
        if isinstance(content.get(key), str):
            return content[key]
    return f"[{kind or 'unknown'} content]"


def _hidden(message: dict) -> bool:
    metadata = message.get("metadata") or {}
    return bool(isinstance(metadata, dict) and metadata.get("is_visually_hidden_from_conversation"))


def _keep(message) -> ImportedMessage | None:
    """Return the message to import, or None if ChatGPT does not show it."""
    if not isinstance(message, dict) or _hidden(message):
        return None
    author = message.get("author") or {}
    role = ROLES.get(author.get("role") if isinstance(author, dict) else None)
    if role is None:
        return None
    text = content_text(message.get("content"))
    if text is None or not text.strip():
        return None
    metadata = message.get("metadata") or {}
    return ImportedMessage(
        key=str(message.get("id") or ""),
        parent_key=None,
        role=role,
        content=text,
        status=STATUSES.get(message.get("status"), Message.Status.COMPLETED),
        model=str(metadata.get("model_slug") or "")[:100] if isinstance(metadata, dict) else "",
        created_at=timestamp(message.get("create_time")),
    )


def label(raw) -> str:
    """Return how to name a conversation in a report: its title, else its id."""
    if isinstance(raw, dict):
        for key in ("title", "conversation_id", "id"):
            if isinstance(raw.get(key), str) and raw[key].strip():
                return raw[key].strip()
    return "(untitled conversation)"


def chatgpt_conversation(raw) -> ImportedConversation:
    """Turn one conversations.json item into a tree; raise Malformed if it cannot be read."""
    name = label(raw)
    if not isinstance(raw, dict):
        raise Malformed(name, "it is not a JSON object")
    mapping = raw.get("mapping")
    if not isinstance(mapping, dict) or not mapping:
        raise Malformed(name, "it has no message mapping")
    external_id = raw.get("conversation_id") or raw.get("id")
    if not isinstance(external_id, str) or not external_id:
        raise Malformed(name, "it has no conversation id")
    created_at = timestamp(raw.get("create_time"))
    if created_at is None:
        raise Malformed(name, "it has no valid create_time")
    updated_at = timestamp(raw.get("update_time"), created_at)

    kept: dict[str, ImportedMessage] = {}
    parents: dict[str, str | None] = {}
    try:
        for node_id, node in mapping.items():
            if not isinstance(node, dict):
                raise ValueError(f"node {node_id} is not an object")
            parent = node.get("parent")
            parents[node_id] = parent if isinstance(parent, str) and parent in mapping else None
            message = _keep(node.get("message"))
            if message is not None:
                kept[node_id] = message
    except (ValueError, TypeError, AttributeError) as exc:
        raise Malformed(name, str(exc)) from None

    resolved: dict[str, str | None] = {}

    def kept_ancestor(node_id: str | None) -> str | None:
        """Return the nearest kept node at or above node_id (iteratively, cycle-safe)."""
        chain, seen = [], set()
        while node_id is not None and node_id not in kept and node_id not in resolved:
            if node_id in seen:
                raise Malformed(name, "its message tree has a cycle")
            seen.add(node_id)
            chain.append(node_id)
            node_id = parents.get(node_id)
        result = node_id if node_id is None or node_id in kept else resolved[node_id]
        for skipped in chain:
            resolved[skipped] = result
        return result

    messages = []
    depth: dict[str, int] = {}
    for node_id, message in kept.items():
        parent_key = kept_ancestor(parents[node_id])
        messages.append((node_id, parent_key, message))
    # Parents first: depth along kept ancestors, computed iteratively.
    parent_of = {node_id: parent_key for node_id, parent_key, _ in messages}
    for node_id in parent_of:
        chain = []
        current = node_id
        while current is not None and current not in depth:
            if len(chain) > len(parent_of):
                raise Malformed(name, "its message tree has a cycle")
            chain.append(current)
            current = parent_of[current]
        base = -1 if current is None else depth[current]
        for offset, item in enumerate(reversed(chain), start=1):
            depth[item] = base + offset

    ordered = sorted(
        messages, key=lambda item: (depth[item[0]], item[2].created_at or created_at, item[0])
    )
    tree = [
        message.with_keys(key=node_id, parent_key=parent_key, default_time=created_at)
        for node_id, parent_key, message in ordered
    ]
    current_node = raw.get("current_node")
    current_key = kept_ancestor(current_node if current_node in mapping else None)
    if current_key is None and tree:
        # No usable current node: the newest leaf is the active branch.
        leaves = {m.key for m in tree} - {m.parent_key for m in tree}
        current_key = max((m for m in tree if m.key in leaves), key=lambda m: m.created_at).key
    title = " ".join(str(raw.get("title") or "").split())[:TITLE_MAX_CHARS]
    return ImportedConversation(
        label=name,
        title=title,
        created_at=created_at,
        updated_at=max(updated_at, created_at),
        archived=bool(raw.get("is_archived")),
        pinned=False,
        metadata={"chatgpt_id": external_id[:512]},
        dedup_key=("chatgpt_id", external_id[:512]),
        messages=tree,
        current_key=current_key,
    )
