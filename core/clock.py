"""The `when` template filter: every time the site shows, in one format and one element.

A template builtin (TEMPLATES OPTIONS "builtins"), so no template has to load it. The text
follows the active time zone (the browser's, core/timezone.py) and the formats of
core/formats; the element carries the exact instant for machines and a hover title.
"""

from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.formats import get_format
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()


@register.filter
def when(value: datetime | None, part: str = "datetime") -> SafeString | str:
    """Render `<time datetime="ISO">Dec 1, 2026, 19:25</time>` ("date": Dec 1, 2026)."""
    if not isinstance(value, datetime):
        return ""
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    full = date_format(local, get_format("DATETIME_FORMAT"))
    text = date_format(local, get_format("DATE_FORMAT")) if part == "date" else full
    title = f"{full} ({timezone.get_current_timezone_name()})"
    return format_html(
        '<time datetime="{}" title="{}">{}</time>', local.isoformat(timespec="seconds"), title, text
    )


@register.simple_tag
def current_time_zone() -> str:
    """Return the active zone's name: app.js compares it with the browser's."""
    return timezone.get_current_timezone_name()
