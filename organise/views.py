"""Moving history around: search, bulk actions, export and import, projects' conversations."""

import json
from datetime import date, datetime, time, timedelta

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib import messages as flash
from django.core.exceptions import ValidationError
from django.http import HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from accounts.throttling import RateLimited, throttle_check
from conversations import selectors, services
from conversations.selectors import InvalidCursor
from conversations.views import THREAD_PAGE, group_label, group_rows
from core.errors import error_text
from core.http import HtmxHttpRequest, is_partial, login_required
from core.text import invalid_char_message
from organise import bulk
from organise import services as organise_services
from organise.search import conversation_search
from organise.transfer.export import (
    conversation_export_json,
    conversation_export_markdown,
    export_filename,
    user_export_zip,
)
from organise.transfer.importer import ImportFileError, import_file
from projects.forms import ProjectDeleteForm
from projects.selectors import project_get_for_user, project_list_for_user

BULK_ACTIONS = ("archive", "unarchive", "delete", "move")
MAX_IMPORT_BYTES = 1024 * 1024 * 1024
PROJECT_PAGE_SIZE = 50
SIDEBAR_CONVERSATIONS = 5
MIN_SEARCH_DAY = date(1900, 1, 1)
MAX_SEARCH_DAY = date(9998, 12, 31)


def _tristate(value: str | None) -> bool | None:
    return {"1": True, "0": False}.get(value or "")


def _day(value: str | None, name: str, errors: dict) -> datetime | None:
    if not value:
        return None
    try:
        day = datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        errors[name] = "Enter a date as YYYY-MM-DD."
        return None
    if not MIN_SEARCH_DAY <= day <= MAX_SEARCH_DAY:
        # Past these, adding the end day or a time zone overflows.
        errors[name] = f"Pick a day between {MIN_SEARCH_DAY} and {MAX_SEARCH_DAY}."
        return None
    return timezone.make_aware(datetime.combine(day, time.min))


# --- Search --------------------------------------------------------------------------------


@require_GET
@login_required
def search(request: HtmxHttpRequest) -> HttpResponse:
    """Search titles and messages of the user's conversations, with filters."""
    params = request.GET
    query = params.get("q", "").strip()
    errors: dict[str, str] = {}
    if (reason := invalid_char_message(query)) is not None:
        errors["q"] = f"Search: {reason}"
    project = None
    if project_id := params.get("project"):
        project = project_get_for_user(user=request.user, public_id=project_id)
    date_from = _day(params.get("from"), "from", errors)
    date_to = _day(params.get("to"), "to", errors)
    if date_to is not None:
        date_to += timedelta(days=1)  # The end day is included.
    results = []
    if query and not errors:
        results = conversation_search(
            user=request.user,
            query=query,
            project=project,
            archived=_tristate(params.get("archived")),
            pinned=_tristate(params.get("pinned")),
            date_from=date_from,
            date_to=date_to,
        )
    context = {
        "query": query,
        "results": results,
        "errors": errors,
        "filters": params,
    }
    if is_partial(request) and request.htmx.target == "search-results":
        return render(request, "organise/search.html#search-results", context)
    context["projects"] = list(project_list_for_user(user=request.user))
    return render(request, "organise/search.html", context)


@require_http_methods(["GET", "POST"])
@login_required
def search_open(request: HtmxHttpRequest, message_id: str) -> HttpResponse:
    """Open a conversation at a message, switching to its branch first if needed (POST)."""
    message = selectors.message_get_for_user(user=request.user, public_id=message_id)
    conversation = message.conversation
    path = selectors.message_path(
        conversation=conversation,
        leaf_id=conversation.current_message_id,
        limit=settings.MAX_MESSAGES_PER_CONVERSATION,
    )
    ids = [m.pk for m in path]
    if message.pk not in ids:
        if request.method == "GET":
            return render(request, "organise/other_branch.html", {"message": message})
        try:
            services.conversation_switch_branch(conversation=conversation, message=message)
        except (services.ConversationError, ValidationError) as exc:
            flash.error(request, getattr(exc, "message", None) or " ".join(exc.messages))
            return redirect("conversation", public_id=conversation.public_id)
        conversation.refresh_from_db()
        path = selectors.message_path(
            conversation=conversation,
            leaf_id=conversation.current_message_id,
            limit=settings.MAX_MESSAGES_PER_CONVERSATION,
        )
        ids = [m.pk for m in path]
    url = reverse("conversation", args=[conversation.public_id])
    index = ids.index(message.pk)
    if len(ids) - index > THREAD_PAGE:
        # Older than the first page: show the page that ends with it.
        url += f"?before={path[index + 1].public_id}"
    return redirect(f"{url}#message-{message.public_id}")


# --- Bulk actions --------------------------------------------------------------------------


@require_POST
@login_required
def conversations_bulk(request: HtmxHttpRequest) -> HttpResponse:
    """Archive, unarchive, delete or move up to 100 selected conversations in one request."""
    action = request.POST.get("action", "")
    public_ids = request.POST.getlist("ids")
    try:
        if action not in BULK_ACTIONS:
            raise ValidationError({"action": "Choose archive, delete or move."})
        throttle_check(user=request.user, scope="write")
        if action == "delete":
            result = bulk.conversations_bulk_delete(user=request.user, public_ids=public_ids)
            done = "Deleted"
        elif action == "move":
            target = request.POST.get("project", "")
            project = project_get_for_user(user=request.user, public_id=target) if target else None
            result = bulk.conversations_bulk_move(
                user=request.user, public_ids=public_ids, project=project
            )
            done = f"Moved to {project.title}:" if project else "Moved out of projects:"
        else:
            result = bulk.conversations_bulk_archive(
                user=request.user, public_ids=public_ids, archived=action == "archive"
            )
            done = "Archived" if action == "archive" else "Unarchived"
    except (ValidationError, RateLimited) as exc:
        if request.htmx:
            return render(
                request,
                "organise/_bulk.html#bulk-status",
                {"error": error_text(exc)},
                status=getattr(exc, "status_code", 400),
            )
        flash.error(request, error_text(exc))
        return redirect("home")
    summary = f"{done} {result.count} conversation{'s' * (result.count != 1)}."
    if result.failed:
        summary += f" {len(result.failed)} could not be found."
    if request.htmx:
        return render(request, "organise/_bulk.html#bulk-done", {"summary": summary})
    flash.success(request, summary)
    return redirect("home")


# --- Export --------------------------------------------------------------------------------


@require_GET
@login_required
def conversation_export(request: HtmxHttpRequest, public_id: str, fmt: str) -> HttpResponse:
    """Download one conversation as Markdown (active branch) or JSON (every branch)."""
    conversation = selectors.conversation_get_for_user(user=request.user, public_id=public_id)
    if fmt == "md":
        body = conversation_export_markdown(conversation=conversation)
        content_type = "text/markdown; charset=utf-8"
    else:
        document = conversation_export_json(conversation=conversation)
        body = json.dumps(document, ensure_ascii=False, indent=2)
        content_type = "application/json; charset=utf-8"
    response = HttpResponse(body, content_type=content_type)
    name = export_filename(conversation, fmt)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


async def _stream(chunks):
    """Pull each chunk of a blocking generator in the sync thread (the database lives there).

    A download broken off closes the generator there too (its cursor, and the export's
    fetch and deflate threads), not wherever it happens to be garbage-collected.
    """
    try:
        while True:
            chunk = await sync_to_async(next)(chunks, None)
            if chunk is None:
                return
            yield chunk
    finally:
        await sync_to_async(chunks.close)()


@require_GET
@login_required
def data_export(request: HtmxHttpRequest) -> StreamingHttpResponse:
    """Download all of the user's projects and conversations as a zip, streamed."""
    response = StreamingHttpResponse(
        _stream(user_export_zip(user=request.user)), content_type="application/zip"
    )
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="chat-export-{stamp}.zip"'
    return response


# --- Settings page and import --------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@login_required
def data_settings(request: HtmxHttpRequest) -> HttpResponse:
    """Show export and import; on POST import an uploaded ChatGPT or own export."""
    context: dict = {}
    status = 200
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            context["error"] = "Choose a file to import."
        elif upload.size > MAX_IMPORT_BYTES:
            context["error"] = (
                "The file is larger than 1 GB; import it with manage.py import_chatgpt."
            )
        else:
            try:
                context["report"] = import_file(user=request.user, file=upload)
            except ImportFileError as exc:
                context["error"] = str(exc)
        status = 400 if "error" in context else 200
    return render(request, "organise/data_settings.html", context, status=status)


# --- Projects and their conversations ------------------------------------------------------


@require_GET
@login_required
def project_detail(request: HtmxHttpRequest, public_id: str) -> HttpResponse:
    """Show a project and its conversations in the sidebar's date groups (keyset pages)."""
    project = project_get_for_user(user=request.user, public_id=public_id)
    cursor = request.GET.get("cursor") or None
    try:
        page = selectors.conversation_list_for_sidebar(
            user=request.user, project=project, cursor=cursor, limit=PROJECT_PAGE_SIZE
        )
    except InvalidCursor:
        return HttpResponseBadRequest("Invalid cursor.")
    previous = None
    if cursor:
        updated_at, _pk = selectors.decode_cursor(cursor)
        previous = group_label(updated_at, timezone.localdate())
    context = {
        "project": project,
        "groups": group_rows(page.items, previous_label=previous),
        "next_cursor": page.next_cursor,
    }
    if cursor and is_partial(request):
        return render(request, "projects/detail.html#project-page", context)
    return render(request, "projects/detail.html", context)


@require_http_methods(["GET", "POST"])
@login_required
def project_delete(request: HtmxHttpRequest, public_id: str) -> HttpResponse:
    """Ask whether to keep or delete the project's conversations, then delete it."""
    project = project_get_for_user(user=request.user, public_id=public_id)
    form = ProjectDeleteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        delete_conversations = form.cleaned_data["conversations"] == "delete"
        deleted = organise_services.project_delete(
            project=project, delete_conversations=delete_conversations
        )
        if delete_conversations:
            flash.success(request, f"Project deleted with {deleted} conversation(s).")
        else:
            flash.success(request, "Project deleted; its conversations were kept.")
        if request.htmx:
            return HttpResponseClientRedirect(reverse("projects"))
        return redirect("projects")
    context = {"project": project, "form": form}
    if is_partial(request) and request.method == "GET":
        return render(request, "projects/delete.html#project-delete-dialog", context)
    return render(request, "projects/delete.html", context, status=400 if form.errors else 200)


@require_GET
@login_required
def project_sidebar(request: HtmxHttpRequest) -> HttpResponse:
    """Return the sidebar's Projects section: each project with its latest conversations."""
    # Queries: session, user, projects with counts, their latest conversations.
    projects = list(project_list_for_user(user=request.user))
    latest = selectors.conversation_latest_by_project(
        user=request.user, projects=projects, per_project=SIDEBAR_CONVERSATIONS
    )
    for project in projects:
        project.latest = latest[project.pk]
    return render(request, "projects/_sidebar.html#project-section", {"projects": projects})


@require_http_methods(["GET", "POST"])
@login_required
def conversation_move(request: HtmxHttpRequest, public_id: str) -> HttpResponse:
    """Ask which project a conversation belongs in (GET), then move it (POST)."""
    conversation = selectors.conversation_get_for_user(user=request.user, public_id=public_id)
    if request.method == "GET":
        context = {
            "conv": conversation,
            "projects": list(project_list_for_user(user=request.user)),
        }
        if is_partial(request):
            return render(request, "projects/move.html#move-dialog", context)
        return render(request, "projects/move.html", context)
    target = request.POST.get("project", "")
    project = project_get_for_user(user=request.user, public_id=target) if target else None
    services.conversation_set_project(conversation=conversation, project=project)
    if request.htmx:
        return render(request, "projects/_sidebar.html#refresh", {})
    flash.success(request, f"Moved to {project.title}." if project else "Moved out of its project.")
    return redirect("conversation", public_id=conversation.public_id)
