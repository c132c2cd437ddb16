"""Template helpers for the chat UI: the markdown filter and the configured models."""

import functools
from urllib.parse import quote

from django import template
from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse
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


@functools.cache
def _url_parts(name: str, urlconf: str, prefix: str) -> tuple[str, str]:
    path = reverse(name, urlconf=urlconf, args=[_ID_SLOT])
    head, _, tail = path.partition(_ID_SLOT)
    return head, tail


_ID_SLOT = "conv_0"


@register.filter
def conversation_url(public_id: str, name: str = "conversation") -> str:
    """Return the path of a per-conversation URL (by its name) for `public_id`.

    The sidebar renders a hundred rows a page: each name is reversed once per URLconf and
    the id is put in its slot, where a {% url %} per row costs more than the rest of the row.
    """
    head, tail = _url_parts(name, get_urlconf() or settings.ROOT_URLCONF, get_script_prefix())
    return f"{head}{quote(public_id, safe='')}{tail}"
