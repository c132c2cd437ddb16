"""The browser app: sidebar, chat pane and per-conversation actions (HTML and HTMX)."""

import functools
from dataclasses import dataclass, field
from datetime import date, datetime
from operator import attrgetter, itemgetter
from urllib.parse import quote, urlsplit

from django.conf import settings
from django.contrib import messages as flash
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.template import Context
from django.template.loader import get_template, render_to_string
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.safestring import SafeString
from django.utils.text import Truncator, add_truncation_text, calculate_truncate_chars_length
from django.utils.translation import get_language, pgettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect, push_url, reswap, retarget

from accounts.throttling import RateLimited, throttle_check
from conversations import selectors, services
from conversations.models import Conversation, Message
from conversations.selectors import InvalidCursor
from conversations.templatetags.chat import path_parts
from core.errors import error_text
from core.http import HtmxHttpRequest, is_partial, login_required
from core.text import plain_text

SIDEBAR_PAGE = 50
ROW_PREVIEW_CHARS = 40
PINNED_LIMIT = 100
THREAD_PAGE = 50


def _current_public_id(request: HtmxHttpRequest) -> str | None:
    """Return the public id of the conversation open in the browser tab, if any."""
    path = request.htmx.current_url_abs_path if request.htmx else request.path
    try:
        match = resolve(urlsplit(path or "").path)
    except Resolver404:
        return None
    return match.kwargs.get("public_id") if match.url_name == "conversation" else None


def _error_status(exc: Exception) -> int:
    """Return the HTTP status of a domain error (400 for a Django ValidationError)."""
    return getattr(exc, "status_code", 400)


# --- Sidebar -------------------------------------------------------------------------------


@dataclass
class SidebarGroup:
    label: str
    show_heading: bool
    rows: list = field(default_factory=list)


def _day_label(day: date, today: date) -> str:
    age = (today - day).days
    if age <= 0:
        return "Today"
    if age == 1:
        return "Yesterday"
    if age <= 7:
        return "Previous 7 days"
    if age <= 30:
        return "Previous 30 days"
    return date_format(day, "F Y")


def group_label(moment: datetime, today: date) -> str:
    """Return the sidebar heading for a timestamp, in the current time zone."""
    return _day_label(timezone.localtime(moment).date(), today)


def group_rows(
    rows: list, *, previous_label: str | None = None, stamp=attrgetter("updated_at")
) -> list[SidebarGroup]:
    """Split rows (newest first) into date groups; a group the last page began gets no heading.

    `stamp` reads a row's time (a model's updated_at by default); each day is labelled once.
    """
    zone = timezone.get_current_timezone()
    today = timezone.localdate()
    labels: dict[date, str] = {}
    groups: list[SidebarGroup] = []
    for row in rows:
        day = stamp(row).astimezone(zone).date()
        if (label := labels.get(day)) is None:
            label = labels[day] = _day_label(day, today)
        if not groups or groups[-1].label != label:
            groups.append(SidebarGroup(label=label, show_heading=label != previous_label))
        groups[-1].rows.append(row)
    return groups


def _previous_label(cursor: str | None) -> str | None:
    """Return the group of the last row the previous page showed (the cursor holds its time)."""
    if not cursor:
        return None
    updated_at, _pk = selectors.decode_cursor(cursor)
    return group_label(updated_at, timezone.localdate())


ROW_TEMPLATE = "conversations/_sidebar.html#conversation-row"
RENAME_TEMPLATE = "conversations/_sidebar.html#rename-form"
# Rendered rows kept per process (about 1 kB each): a few dozen users' first pages. A row not
# kept costs what every row cost before (its template render), nothing more.
ROW_CACHE_SIZE = 4096


def _row_paths() -> tuple[str, str, str, str]:
    """Return a row's two paths (chat, actions) each split around the id, reversed once."""
    return (*path_parts("conversation"), *path_parts("conversation-actions"))


def row_preview(text: str) -> str:
    """Return a row's preview: what `|plain|truncatechars:40|default:"No messages yet"` gives.

    The common line (its first 41 characters ASCII: NFC already, one character each) is cut
    directly; Truncator, which normalizes and walks the text, takes the rest.
    """
    line = plain_text(text)
    if not line[: ROW_PREVIEW_CHARS + 1].isascii():
        line = Truncator(line).chars(ROW_PREVIEW_CHARS)
    elif len(line) > ROW_PREVIEW_CHARS:
        mark = pgettext("String to return when truncating text", "%(truncated_text)s…")
        keep = calculate_truncate_chars_length(ROW_PREVIEW_CHARS, mark)
        line = add_truncation_text(line[:keep], mark)
    return line or "No messages yet"


def _row_values(public_id: str, title: str, preview: str, *, current: bool, paths) -> dict:
    """Return what a sidebar row prints (its template then only prints values)."""
    slot = quote(public_id, safe="")
    return {
        "public_id": public_id,
        "title": title or "New chat",
        "preview": row_preview(preview),
        "href": f"{paths[0]}{slot}{paths[1]}",
        "menu_href": f"{paths[2]}{slot}{paths[3]}",
        "current": current,
    }


@functools.lru_cache(maxsize=ROW_CACHE_SIZE)
def _row_html(
    template, paths: tuple, language: str, public_id: str, title: str, preview: str, current: bool
) -> SafeString:
    """Render one row by its template.

    Every argument is something the row shows or is rendered with (the template object is
    new when the template changes; the language translates the truncation mark), so an
    entry never goes stale and nothing has to invalidate it.
    """
    values = _row_values(public_id, title, preview, current=current, paths=paths)
    return template.render(Context({"row": values}))


def sidebar_rows(rows: list[dict], *, current_id: str | None) -> list[SafeString]:
    """Return rows (from conversation_rows_for_sidebar) rendered by the conversation-row partial.

    A sidebar page shows a hundred rows, and the template work per row cost more than the
    rest of the request; rows rarely change between two renders of the list, so each is
    rendered once and reused while nothing it shows has changed (a changed title, preview,
    open conversation or language is another entry).
    """
    template = get_template(ROW_TEMPLATE).template
    paths = _row_paths()
    language = get_language()
    return [
        _row_html(
            template,
            paths,
            language,
            row["public_id"],
            row["title"],
            row["preview"],
            row["public_id"] == current_id,
        )
        for row in rows
    ]


def conversation_row(conversation: Conversation, *, current_id: str | None) -> dict:
    """Return what one conversation's row prints (the rename view's single-row responses)."""
    return _row_values(
        conversation.public_id,
        conversation.title,
        conversation.preview,
        current=conversation.public_id == current_id,
        paths=_row_paths(),
    )


def sidebar_context(
    request: HtmxHttpRequest, *, cursor: str | None = None, rename: dict | None = None
) -> dict:
    """Return what the sidebar list needs: pinned rows, one dated page, the open conversation.

    `rename` (the no-JavaScript rename page: its conversation, value and error) shows that
    conversation's row as the rename form.
    """
    user = request.user
    current_id = _current_public_id(request)
    pinned = (
        selectors.conversation_rows_for_sidebar(user=user, pinned=True, limit=PINNED_LIMIT).items
        if not cursor
        else []
    )
    page = selectors.conversation_rows_for_sidebar(
        user=user, cursor=cursor, pinned=False, limit=SIDEBAR_PAGE
    )

    def rendered(rows: list[dict]) -> list[SafeString]:
        html = sidebar_rows(rows, current_id=current_id)
        if rename is not None:
            conversation = rename["conversation"]
            for index, row in enumerate(rows):
                if row["public_id"] == conversation.public_id:
                    row = conversation_row(conversation, current_id=current_id)
                    html[index] = render_to_string(
                        RENAME_TEMPLATE, rename | {"row": row}, request=request
                    )
        return html

    groups = group_rows(
        page.items, previous_label=_previous_label(cursor), stamp=itemgetter("updated_at")
    )
    for group in groups:
        group.rows = rendered(group.rows)
    return {
        "sidebar": True,
        "pinned": rendered(pinned),
        "groups": groups,
        "next_cursor": page.next_cursor,
        "current_id": current_id,
    }


def _render_sidebar(request: HtmxHttpRequest) -> HttpResponse:
    """Render the whole sidebar list out of band (after an action changed it)."""
    context = sidebar_context(request) | {"list_oob": True}
    return render(request, "conversations/_sidebar.html#conversation-list", context)


@require_GET
@login_required
def sidebar(request: HtmxHttpRequest) -> HttpResponse:
    """Return the sidebar list, or the page after `cursor` (archived ones with `archived=1`)."""
    cursor = request.GET.get("cursor") or None
    archived = request.GET.get("archived") == "1"
    try:
        if archived:
            return _archived_response(request, cursor=cursor)
        context = sidebar_context(request, cursor=cursor)
    except InvalidCursor:
        return HttpResponseBadRequest("Invalid cursor.")
    if not is_partial(request):
        return render(request, "conversations/chat.html", context | _chat_context(None))
    name = "conversation-page" if cursor else "conversation-list"
    return render(request, f"conversations/_sidebar.html#{name}", context)


def _archived_response(request: HtmxHttpRequest, *, cursor: str | None) -> HttpResponse:
    page = selectors.conversation_list_for_sidebar(
        user=request.user, cursor=cursor, archived=True, limit=SIDEBAR_PAGE
    )
    context = {"archived": page.items, "archived_next": page.next_cursor}
    if is_partial(request) and cursor:
        return render(request, "conversations/archived.html#archived-page", context)
    return render(request, "conversations/archived.html", context | sidebar_context(request))


@require_GET
@login_required
def archived(request: HtmxHttpRequest) -> HttpResponse:
    """List archived conversations with a way to restore each."""
    try:
        return _archived_response(request, cursor=request.GET.get("cursor") or None)
    except InvalidCursor:
        return HttpResponseBadRequest("Invalid cursor.")


# --- Chat pane -----------------------------------------------------------------------------


def _entries(conversation: Conversation, messages: list[Message]) -> list[tuple]:
    """Pair each message with its (position, count) among siblings (one query)."""
    positions = selectors.message_sibling_positions(conversation=conversation, messages=messages)
    return [(m, *positions.get(m.id, (1, 1))) for m in messages]


def _chat_context(
    conversation: Conversation | None,
    *,
    thread: selectors.Thread | None = None,
    entries: list | None = None,
    **composer,
) -> dict:
    """Return the chat pane's context; `composer` holds error, content, client_id, etc."""
    messages = thread.messages if thread else [e[0] for e in entries or []]
    generating = bool(messages) and messages[-1].status == Message.Status.IN_PROGRESS
    # The picker keeps the model of the latest reply, else the default.
    models = settings.CHAT_MODELS
    latest = next((m.model for m in reversed(messages) if m.model in models), models[0])
    if not composer.get("selected_model"):
        composer["selected_model"] = latest
    return {
        "conversation": conversation,
        "closed": conversation is not None and not conversation.is_open,
        "entries": entries if entries is not None else [],
        "has_older": bool(thread and thread.has_older),
        "oldest": thread.oldest if thread else None,
        "generating": generating,
        "models": models,
    } | composer


def _thread_context(conversation: Conversation, *, before: Message | None = None) -> dict:
    """Return the chat pane's context for the newest page of the active branch (or older)."""
    thread = selectors.message_thread(
        conversation=conversation,
        before=before,
        limit=THREAD_PAGE,
        without=selectors.ARTICLE_UNSHOWN,
    )
    return _chat_context(
        conversation, thread=thread, entries=_entries(conversation, thread.messages)
    )


@require_GET
@login_required
def home(request: HtmxHttpRequest) -> HttpResponse:
    """Show an empty chat pane; the conversation is created with its first message."""
    context = _chat_context(None)
    if is_partial(request):
        return render(request, "conversations/chat.html#chat-pane", context)
    return render(request, "conversations/chat.html", context | sidebar_context(request))


@require_GET
@login_required
def conversation_detail(request: HtmxHttpRequest, public_id: str) -> HttpResponse:
    """Show a conversation's active branch, newest messages at the bottom."""
    try:
        conversation = selectors.conversation_get_for_user(user=request.user, public_id=public_id)
    except Http404:
        return _missing(request)
    before = None
    if before_id := request.GET.get("before"):
        before = _message_in(request, conversation, before_id)
    context = _thread_context(conversation, before=before)
    if is_partial(request):
        return render(request, "conversations/chat.html#chat-pane", context)
    return render(request, "conversations/chat.html", context | sidebar_context(request))


def _missing(request: HtmxHttpRequest) -> HttpResponse:
    """Say the conversation is gone (deleted in another tab, or never existed)."""
    context = _chat_context(None, missing=True)
    if is_partial(request):
        return render(request, "conversations/chat.html#chat-pane", context, status=404)
    return render(
        request, "conversations/chat.html", context | sidebar_context(request), status=404
    )


def _message_in(request, conversation: Conversation, message_id: str) -> Message:
    """Return the user's message if it belongs to `conversation`, else raise Http404."""
    return selectors.message_get_for_user(
        user=request.user, public_id=message_id, conversation=conversation
    )


def _composer_error(
    request: HtmxHttpRequest, conversation: Conversation | None, exc: Exception
) -> HttpResponse:
    """Show why a send failed, keeping the typed text and client id."""
    status = _error_status(exc)
    composer = {
        "error": error_text(exc),
        "content": request.POST.get("content", ""),
        "client_id": request.POST.get("client_id", ""),
        "selected_model": request.POST.get("model", ""),
    }
    if is_partial(request):
        busy = isinstance(exc, services.GenerationInProgress)
        context = _chat_context(conversation, generating=busy, **composer)
        response = render(request, "conversations/chat.html#composer", context, status=status)
        return reswap(retarget(response, "#composer"), "outerHTML")
    if conversation is None:
        context = _chat_context(None, **composer)
    else:
        context = _thread_context(conversation) | composer
    return render(
        request, "conversations/chat.html", context | sidebar_context(request), status=status
    )


def _throttle_generation(request: HtmxHttpRequest) -> None:
    """Count a browser write that starts a reply against the same limits as the API."""
    throttle_check(user=request.user, scope="write")
    throttle_check(user=request.user, scope="generation")


def _send_fields(request: HtmxHttpRequest) -> dict:
    return {
        "content": request.POST.get("content", ""),
        "client_id": request.POST.get("client_id") or None,
        "model": request.POST.get("model") or None,
    }


@require_POST
@login_required
def send_new(request: HtmxHttpRequest) -> HttpResponse:
    """Create a conversation with its first message and start the reply."""
    try:
        _throttle_generation(request)
        with transaction.atomic():
            conversation = services.conversation_create(owner=request.user)
            result = services.message_send(conversation=conversation, **_send_fields(request))
    except (services.ConversationError, ValidationError, RateLimited) as exc:
        return _composer_error(request, None, exc)
    url = reverse("conversation", args=[conversation.public_id])
    if not is_partial(request):
        return redirect(url)
    entries = [(result.user_message, 1, 1), (result.assistant_message, 1, 1)]
    context = _chat_context(conversation, entries=entries, refresh_sidebar=True)
    return push_url(render(request, "conversations/chat.html#chat-pane", context), url)


@require_http_methods(["GET", "POST"])
@login_required
def thread_messages(request: HtmxHttpRequest, public_id: str) -> HttpResponse:
    """Return the thread (older messages with `before=`) on GET; send a message on POST."""
    if request.method == "POST":
        return send(request, public_id)
    conversation = selectors.conversation_get_for_user(user=request.user, public_id=public_id)
    if not is_partial(request):
        url = reverse("conversation", args=[conversation.public_id])
        before_id = request.GET.get("before")
        return redirect(f"{url}?before={before_id}" if before_id else url)
    before = None
    if before_id := request.GET.get("before"):
        before = _message_in(request, conversation, before_id)
    name = "message-page" if before else "message-list"
    return render(
        request, f"conversations/chat.html#{name}", _thread_context(conversation, before=before)
    )


def send(request: HtmxHttpRequest, public_id: str) -> HttpResponse:
    """Send a message in a conversation and start the reply."""
    conversation = selectors.conversation_get_for_user(user=request.user, public_id=public_id)
    try:
        _throttle_generation(request)
        result = services.message_send(conversation=conversation, **_send_fields(request))
    except (services.ConversationError, ValidationError, RateLimited) as exc:
        return _composer_error(request, conversation, exc)
    if not is_partial(request):
        return redirect("conversation", public_id=conversation.public_id)
    messages = [result.user_message, result.assistant_message]
    context = _chat_context(conversation, entries=_entries(conversation, messages))
    # Everything in the turn is out of band, guarded against the websocket's copy.
    return reswap(render(request, "conversations/chat.html#turn", context), "none")


@require_POST
@login_required
def stop(request: HtmxHttpRequest, public_id: str) -> HttpResponse:
    """Stop the reply being generated; the partial text is kept."""
    conversation = selectors.conversation_get_for_user(user=request.user, public_id=public_id)
    message = selectors.message_generating(conversation=conversation)
    if message is not None:
        services.message_stop(message=message)
    if is_partial(request):
        return HttpResponse(status=204)
    return redirect("conversation", public_id=conversation.public_id)


def _branch_response(request: HtmxHttpRequest, conversation: Conversation) -> HttpResponse:
    """Re-render the thread after the active branch changed."""
    conversation.refresh_from_db()
    if not is_partial(request):
        return redirect("conversation", public_id=conversation.public_id)
    # The composer follows on its own: app.js shows Stop while a reply is in progress.
    return render(request, "conversations/chat.html#message-list", _thread_context(conversation))


def _branch_error(request: HtmxHttpRequest, conversation: Conversation, exc) -> HttpResponse:
    status = _error_status(exc)
    if not is_partial(request):
        flash.error(request, error_text(exc))
        return redirect("conversation", public_id=conversation.public_id)
    context = _chat_context(conversation, error=error_text(exc))
    response = render(request, "conversations/chat.html#composer", context, status=status)
    return reswap(retarget(response, "#composer"), "outerHTML")


@require_POST
@login_required
def regenerate(request: HtmxHttpRequest, message_id: str) -> HttpResponse:
    """Generate a new version of a reply (a sibling), optionally with another model."""
    message = selectors.message_get_for_user(user=request.user, public_id=message_id)
    conversation = message.conversation
    try:
        _throttle_generation(request)
        services.message_regenerate(message=message, model=request.POST.get("model") or None)
    except (services.ConversationError, ValidationError, RateLimited) as exc:
        return _branch_error(request, conversation, exc)
    return _branch_response(request, conversation)


@require_POST
@login_required
def continue_reply(request: HtmxHttpRequest, message_id: str) -> HttpResponse:
    """Let a reply that stopped or was cut off go on in the same message ("Continue")."""
    message = selectors.message_get_for_user(user=request.user, public_id=message_id)
    conversation = message.conversation
    try:
        _throttle_generation(request)
        services.message_continue(user=request.user, message=message)
    except (services.ConversationError, ValidationError, RateLimited) as exc:
        return _branch_error(request, conversation, exc)
    return _branch_response(request, conversation)


@require_POST
@login_required
def edit(request: HtmxHttpRequest, message_id: str) -> HttpResponse:
    """Send an edited copy of a user message as a new branch with its own reply."""
    message = selectors.message_get_for_user(user=request.user, public_id=message_id)
    conversation = message.conversation
    try:
        _throttle_generation(request)
        services.message_edit(
            message=message,
            content=request.POST.get("content", ""),
            client_id=request.POST.get("client_id") or None,
            model=request.POST.get("model") or None,
        )
    except (services.ConversationError, ValidationError, RateLimited) as exc:
        return _branch_error(request, conversation, exc)
    return _branch_response(request, conversation)


@require_POST
@login_required
def switch_branch(request: HtmxHttpRequest, message_id: str) -> HttpResponse:
    """Show the previous or next version of a message (the "< 2/3 >" arrows)."""
    message = selectors.message_get_for_user(user=request.user, public_id=message_id)
    conversation = message.conversation
    step = -1 if request.POST.get("direction") == "prev" else 1
    siblings = list(selectors.message_siblings(message=message))
    index = next(i for i, m in enumerate(siblings) if m.pk == message.pk) + step
    if 0 <= index < len(siblings):
        services.conversation_switch_branch(conversation=conversation, message=siblings[index])
    return _branch_response(request, conversation)


@require_POST
@login_required
def branch_new_chat(request: HtmxHttpRequest, message_id: str) -> HttpResponse:
    """Copy the thread up to a message into a new chat and open it ("Branch in new chat")."""
    message = selectors.message_get_for_user(user=request.user, public_id=message_id)
    try:
        # A write like any other: the same limit /api's branch has (WriteThrottle).
        throttle_check(user=request.user, scope="write")
        conversation = services.conversation_branch(message=message, user=request.user)
    except (services.ConversationError, ValidationError, RateLimited) as exc:
        return _branch_error(request, message.conversation, exc)
    url = reverse("conversation", args=[conversation.public_id])
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)


# --- Row actions ---------------------------------------------------------------------------


def _back(request: HtmxHttpRequest, conversation: Conversation | None = None) -> HttpResponse:
    """Where a plain (no JavaScript) form post returns to."""
    target = request.POST.get("next", "")
    if target.startswith("/") and not target.startswith("//"):
        return redirect(target)
    if conversation is not None:
        return redirect("conversation", public_id=conversation.public_id)
    return redirect("home")


@require_GET
@login_required
def actions(request: HtmxHttpRequest, public_id: str) -> HttpResponse:
    """Return a row's menu when it opens (HTMX), or a page of its actions without JavaScript.

    Rows carry only a link here, so a sidebar page does not render a hundred menus nobody opens.
    Queries (menu): session, user, the conversation.
    """
    conversation = selectors.conversation_get_for_user(user=request.user, public_id=public_id)
    context = {"conv": conversation}
    if is_partial(request):
        return render(request, "conversations/_sidebar.html#row-menu", context)
    context["next"] = request.path
    return render(request, "conversations/actions.html", context | sidebar_context(request))


@require_http_methods(["GET", "POST"])
@login_required
def rename(request: HtmxHttpRequest, public_id: str) -> HttpResponse:
    """Show the inline rename form (GET) or save the new title (POST)."""
    conversation = selectors.conversation_get_for_user(user=request.user, public_id=public_id)
    current_id = _current_public_id(request)

    def form(value: str, status: int = 200, **error) -> HttpResponse:
        rename = {"rename_value": value} | error
        if is_partial(request):
            row = conversation_row(conversation, current_id=current_id)
            return render(request, RENAME_TEMPLATE, rename | {"row": row}, status=status)
        return render(
            request,
            "conversations/chat.html",
            _thread_context(conversation)
            | sidebar_context(request, rename=rename | {"conversation": conversation}),
            status=status,
        )

    if request.method == "GET":
        return form(conversation.title)
    value = request.POST.get("title", "")
    try:
        services.conversation_rename(conversation=conversation, title=value)
    except ValidationError as exc:
        return form(value, status=400, rename_error=error_text(exc))
    if not is_partial(request):
        return _back(request, conversation)
    row = conversation_row(conversation, current_id=current_id)
    return render(request, ROW_TEMPLATE, {"row": row})


@require_POST
@login_required
def pin(request: HtmxHttpRequest, public_id: str) -> HttpResponse:
    """Pin or unpin a conversation (pinned=1|0)."""
    conversation = selectors.conversation_get_for_user(user=request.user, public_id=public_id)
    services.conversation_set_pinned(
        conversation=conversation, pinned=request.POST.get("pinned") == "1"
    )
    if not is_partial(request):
        return _back(request, conversation)
    return _render_sidebar(request)


@require_POST
@login_required
def archive(request: HtmxHttpRequest, public_id: str) -> HttpResponse:
    """Archive or restore a conversation (archived=1|0)."""
    conversation = selectors.conversation_get_for_user(user=request.user, public_id=public_id)
    archived_now = request.POST.get("archived") == "1"
    services.conversation_set_archived(conversation=conversation, archived=archived_now)
    if not is_partial(request):
        flash.success(
            request, "Conversation archived." if archived_now else "Conversation restored."
        )
        return _back(request, conversation)
    return _render_sidebar(request)


@require_http_methods(["GET", "POST"])
@login_required
def delete(request: HtmxHttpRequest, public_id: str) -> HttpResponse:
    """Ask for confirmation (GET), then delete the conversation with its messages and shares."""
    conversation = selectors.conversation_get_for_user(user=request.user, public_id=public_id)
    if request.method == "GET":
        context = {"conv": conversation}
        if is_partial(request):
            return render(request, "conversations/delete.html#delete-dialog", context)
        return render(request, "conversations/delete.html", context | sidebar_context(request))
    was_open = _current_public_id(request) == conversation.public_id
    services.conversation_delete(conversation=conversation)
    if not is_partial(request):
        flash.success(request, "Conversation deleted.")
        return redirect("home")
    if was_open:
        return HttpResponseClientRedirect(reverse("home"))
    return _render_sidebar(request)


# --- Feedback on replies ------------------------------------------------------------------


@require_POST
@login_required
def message_feedback(request: HtmxHttpRequest, message_id: str) -> HttpResponse:
    """Rate a reply up or down (rating="" clears it) or comment on it; swaps only its feedback.

    The thumbs send only `rating`, so changing it keeps the comment; the comment form sends both.
    """
    message = selectors.message_get_for_user(user=request.user, public_id=message_id)
    error, status = "", 200
    try:
        throttle_check(user=request.user, scope="write")
        services.message_feedback_set(
            user=request.user,
            message=message,
            rating=request.POST.get("rating", ""),
            comment=request.POST.get("comment", message.feedback_comment),
        )
    except (services.ConversationError, ValidationError, RateLimited) as exc:
        error, status = error_text(exc), _error_status(exc)
        message.refresh_from_db(fields=["feedback_rating", "feedback_comment", "feedback_at"])
    if not is_partial(request):
        if error:
            flash.error(request, error)
        url = reverse("conversation", args=[message.conversation.public_id])
        return redirect(f"{url}#message-{message.public_id}")
    context = {"message": message, "feedback_error": error}
    return render(request, "conversations/_message.html#feedback", context, status=status)
