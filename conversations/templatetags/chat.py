"""Template helpers for the chat UI: the markdown filter and the configured models."""

import functools
import secrets
from urllib.parse import quote

from django import template
from django.conf import settings
from django.template import Context
from django.template.loader import get_template
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import timezone, translation
from django.utils.http import RFC3986_SUBDELIMS
from django.utils.safestring import SafeString, mark_safe

from conversations.models import Message
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


# --- Message articles, rendered once and reused -----------------------------------------

MESSAGE_TEMPLATE = "conversations/_message.html"
ARTICLE_CACHE_SIZE = 2048
# A message longer than this (text and stored HTML) is rendered each time, not kept: the
# cache holds at most ARTICLE_CACHE_SIZE * ~3 * ARTICLE_CACHE_MAX_CHARS characters.
ARTICLE_CACHE_MAX_CHARS = 16_384
# Stands in for the CSRF token while an article is rendered for the cache; every response
# puts its own masked token in its place. Random per process, so no text can contain it.
_TOKEN_SLOT = f"csrf{secrets.token_hex(16)}"


class _Article:
    """One article's cache key: every value the partial shows or is rendered with.

    The message and the rest of the context ride along for a miss and are dropped once it
    is rendered, so an entry keeps only values (never a model instance). Two keys are
    equal when everything the article would show is equal, so an entry never goes stale
    and nothing has to invalidate it: an edited, rated, finished or moved message is a
    new key.
    """

    __slots__ = ("context", "values")

    def __init__(self, values: tuple, context: dict):
        self.values = values
        self.context = context

    def __hash__(self) -> int:
        return hash(self.values)

    def __eq__(self, other) -> bool:
        return isinstance(other, _Article) and self.values == other.values


@functools.lru_cache(maxsize=ARTICLE_CACHE_SIZE)
def _article_parts(article: _Article) -> tuple[str, ...]:
    """Render an article with the token slot and return it split around the slot."""
    template, autoescape = article.values[:2]
    shared, message, position, count = article.context
    local = shared | {"message": message, "position": position, "count": count}
    local["csrf_token"] = _TOKEN_SLOT
    html = template.render(Context(local, autoescape=autoescape))
    article.context = None
    return tuple(html.split(_TOKEN_SLOT))


@register.simple_tag(takes_context=True)
def message_articles(context, entries) -> SafeString:
    """Render `(message, position, count)` entries by the message partial, each once.

    A page of 50 messages spent most of its time in the partial's template work; an article
    rarely changes between two views, so each is rendered once per process and reused while
    nothing it shows has changed (as the sidebar's rows are). What differs per response is
    the CSRF token of its forms: the article is kept with a slot where the token goes, and
    every response fills the slot with its own masked token (so the token still changes on
    every response). A reply still streaming, and a very long message, render each time.
    """
    template = get_template(MESSAGE_TEMPLATE).template
    conversation = context.get("conversation")
    flags = {
        "read_only": context.get("read_only", False),
        "hide_model_names": context.get("hide_model_names", False),
        "user_label": context.get("user_label", ""),
    }
    shared = {"conversation": conversation, **flags}
    fixed = (
        template,
        context.autoescape,
        translation.get_language(),
        timezone.get_current_timezone_name(),
        get_script_prefix(),
        get_urlconf(),
        tuple(settings.CHAT_MODELS),
        getattr(conversation, "public_id", None),
        *flags.values(),
    )
    token = None
    out = []
    for message, position, count in entries:
        size = len(message.content) + len(message.content_html)
        if message.status == Message.Status.IN_PROGRESS or size > ARTICLE_CACHE_MAX_CHARS:
            local = shared | {"message": message, "position": position, "count": count}
            local["csrf_token"] = context.get("csrf_token", "")
            out.append(template.render(Context(local, autoescape=context.autoescape)))
            continue
        values = (
            *fixed,
            position,
            count,
            continuable(message, conversation),
            message.public_id,
            message.role,
            message.status,
            message.status_reason,
            message.model,
            message.created_at,
            message.input_tokens,
            message.output_tokens,
            message.content,
            message.content_html,
            message.render_version,
            message.feedback_rating,
            message.feedback_comment,
        )
        # The context is built only on a miss (see _article_parts).
        parts = _article_parts(_Article(values, (shared, message, position, count)))
        if len(parts) == 1:
            out.append(parts[0])
            continue
        if token is None:  # only when a form shows it: public pages set no CSRF cookie
            token = str(context.get("csrf_token", ""))
        out.append(token.join(parts))
    return mark_safe("".join(out))  # noqa: S308 - the partial's own (escaped) output
