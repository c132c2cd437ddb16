"""Template helpers for the chat UI: the markdown filter and the configured models."""

from django import template
from django.conf import settings
from django.utils.safestring import SafeString

from conversations.rendering import render_markdown
from core.text import plain_text

register = template.Library()


@register.filter(name="markdown")
def markdown_filter(text: str) -> SafeString:
    """Render markdown to sanitized HTML."""
    return render_markdown(text or "")


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
