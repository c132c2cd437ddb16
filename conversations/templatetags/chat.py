"""Template helpers for the chat UI: the markdown filter and the configured models."""

from django import template
from django.conf import settings
from django.utils.safestring import SafeString, mark_safe

from conversations.rendering import RENDER_VERSION, render_markdown
from conversations.selectors import message_continuable
from core.text import plain_text

register = template.Library()


@register.filter(name="markdown")
def markdown_filter(text: str) -> SafeString:
    """Render markdown to sanitized HTML."""
    return render_markdown(text or "")


@register.filter
def message_html(message) -> SafeString:
    """Return a finished message's stored HTML; render its markdown only for an older row.

    content_html was sanitized by rendering.message_html when it was written. Rows stored by
    an older renderer (until `rerender_messages` catches them up) still render correctly.
    """
    if message.render_version == RENDER_VERSION:
        return mark_safe(message.content_html)  # noqa: S308 - sanitized when it was stored
    return render_markdown(message.content or "")


@register.filter
def plain(text: str) -> str:
    """Return markdown text without its markup characters (for one-line previews)."""
    return plain_text(text)


@register.filter
def thousands(number) -> str:
    """Format an integer with thousands separators (12,345)."""
    try:
        return f"{int(number):,}"
    except (TypeError, ValueError):
        return ""


@register.simple_tag
def chat_models() -> list[str]:
    """Return the models a user can pick, the default first."""
    return list(settings.CHAT_MODELS)


@register.filter
def continuable(message, conversation) -> bool:
    """Return whether the message partial offers "Continue" (see selectors.message_continuable)."""
    if not getattr(conversation, "pk", None):
        return False  # rendered without its conversation: the leaf is unknown
    return message_continuable(message=message, conversation=conversation)
