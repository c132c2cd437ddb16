"""The denormalized counters of a conversation: the one writer both services and the engine use.

message_count, token_count, preview, current_message and updated_at change only here, in the
transaction of the write that changes them.
"""

from conversations.models import PREVIEW_MAX_CHARS, Conversation, Message
from core import events
from core.text import plain_text, shorten


def make_preview(text: str) -> str:
    """Return the text as plain words on one line, shortened for the sidebar and project page.

    Stored plain, so no list or API answer has to strip markdown on read.
    """
    return shorten(plain_text(text), PREVIEW_MAX_CHARS)


KEEP = object()


def apply_counters(
    conv: Conversation, *, messages: int, tokens: int, leaf, preview_text: str | None, now
) -> list[str]:
    """Change the denormalized fields on the instance; return the names of those changed."""
    fields = []
    if messages:
        conv.message_count = max(conv.message_count + messages, 0)
        fields.append("message_count")
    if tokens:
        conv.token_count = max(conv.token_count + tokens, 0)
        fields.append("token_count")
    if leaf is not KEEP:
        if isinstance(leaf, Message):
            conv.current_message = leaf
        else:
            conv.current_message_id = leaf
        fields.append("current_message")
    if preview_text is not None:
        conv.preview = make_preview(preview_text)
        fields.append("preview")
    if now is not None:
        conv.updated_at = now
        fields.append("updated_at")
    return fields


def conversation_counters_update(
    conv: Conversation,
    *,
    messages: int = 0,
    tokens: int = 0,
    leaf=KEEP,
    preview_text: str | None = None,
    now=None,
    notify: bool = True,
) -> None:
    """Apply a write's change to the denormalized sidebar fields in one UPDATE.

    The only writer of message_count, token_count, preview, current_message and updated_at;
    call it in the transaction of the write (holding the row lock). `leaf` is a Message, a
    message id or None; `now=None` keeps updated_at (an import keeps its own times).
    """
    fields = apply_counters(
        conv, messages=messages, tokens=tokens, leaf=leaf, preview_text=preview_text, now=now
    )
    if not fields:
        return
    conv.save(update_fields=fields)
    if notify:
        events.sidebar_changed(
            user_id=conv.owner_id,
            conversation_public_id=conv.public_id,
            action="updated",
            token_count=conv.token_count,
        )
