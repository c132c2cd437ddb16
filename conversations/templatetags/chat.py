"""Template helpers for the chat UI: the markdown filter and the configured models."""

import functools
from urllib.parse import quote

from django import template
from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.http import RFC3986_SUBDELIMS
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


_ID_SLOT = "id_0"
_SAFE = RFC3986_SUBDELIMS + "/~:@"  # what reverse leaves unquoted


def path_parts(name: str) -> tuple[str, str]:
    """Return the path of URL `name` split around its one id argument (reversed once)."""
    return _path_parts(name, get_script_prefix(), get_urlconf())


@functools.lru_cache(maxsize=64)
def _path_parts(name: str, prefix: str, urlconf) -> tuple[str, str]:
    head, _, tail = reverse(name, args=[_ID_SLOT], urlconf=urlconf).partition(_ID_SLOT)
    return head, tail


@register.filter
def id_path(public_id: str, name: str) -> str:
    """Return what `{% url name public_id %}` gives, from one reversal per URL name.

    A message article prints up to twelve such paths; reversing each cost about a quarter of
    its render. The parts are kept per script prefix and URL conf, so the path is the same
    string `reverse` returns (the id quoted as reverse quotes a `str` argument).
    """
    head, tail = path_parts(name)
    return f"{head}{quote(str(public_id), safe=_SAFE)}{tail}"


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
