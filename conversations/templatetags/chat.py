"""Template helpers for the chat UI: the markdown filter and the configured models."""

import functools
import re
from urllib.parse import quote

from django import template
from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.safestring import SafeString

from conversations.rendering import render_markdown

register = template.Library()


@register.filter(name="markdown")
def markdown_filter(text: str) -> SafeString:
    """Render markdown to sanitized HTML."""
    return render_markdown(text or "")


_MARKUP = re.compile(r"[#*`>~\[]+|\]\([^)]*\)")


@register.filter
def plain(text: str) -> str:
    """Return markdown text without its markup characters (for one-line previews)."""
    return " ".join(_MARKUP.sub("", text or "").replace("|", " ").split())


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
