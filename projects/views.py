"""Project pages: list, create, edit, delete, a project's conversations, moving one in or out."""

from django.contrib import messages as flash
from django.core.exceptions import ValidationError
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from conversations import selectors as conversation_selectors
from conversations import services as conversation_services
from conversations.selectors import InvalidCursor
from conversations.views import group_label, group_rows
from core.http import HtmxHttpRequest, is_partial, login_required
from projects import selectors, services
from projects.forms import ProjectDeleteForm, ProjectForm

PAGE_SIZE = 50
SIDEBAR_CONVERSATIONS = 5


def _apply_errors(form, exc: ValidationError) -> None:
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


@require_GET
@login_required
def project_list(request: HtmxHttpRequest) -> HttpResponse:
    """List the user's projects with how many conversations each holds."""
    # Queries: session, user, projects with their conversation counts.
    projects = list(selectors.project_list_for_user(user=request.user))
    return render(request, "projects/list.html", {"projects": projects})


@require_http_methods(["GET", "POST"])
@login_required
def project_create(request: HtmxHttpRequest) -> HttpResponse:
    """Create a project (name, description, instructions)."""
    form = ProjectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            project = services.project_create(owner=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            return redirect("project", public_id=project.public_id)
    status = 400 if form.errors else 200
    return render(request, "projects/form.html", {"form": form}, status=status)


@require_GET
@login_required
def project_detail(request: HtmxHttpRequest, public_id: str) -> HttpResponse:
    """Show a project and its conversations in the sidebar's date groups (keyset pages)."""
    project = selectors.project_get_for_user(user=request.user, public_id=public_id)
    cursor = request.GET.get("cursor") or None
    try:
        page = conversation_selectors.conversation_list_for_sidebar(
            user=request.user, project=project, cursor=cursor, limit=PAGE_SIZE
        )
    except InvalidCursor:
        return HttpResponseBadRequest("Invalid cursor.")
    previous = None
    if cursor:
        updated_at, _pk = conversation_selectors.decode_cursor(cursor)
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
def project_edit(request: HtmxHttpRequest, public_id: str) -> HttpResponse:
    """Rename a project, describe it and set its instructions."""
    project = selectors.project_get_for_user(user=request.user, public_id=public_id)
    initial = {
        "title": project.title,
        "description": project.description,
        "instructions": project.instructions,
    }
    form = ProjectForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.project_update(project=project, **form.cleaned_data)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            flash.success(request, "Project saved.")
            return redirect("project", public_id=project.public_id)
    status = 400 if form.errors else 200
    return render(request, "projects/form.html", {"form": form, "project": project}, status=status)


@require_http_methods(["GET", "POST"])
@login_required
def project_delete(request: HtmxHttpRequest, public_id: str) -> HttpResponse:
    """Ask whether to keep or delete the project's conversations, then delete it."""
    project = selectors.project_get_for_user(user=request.user, public_id=public_id)
    form = ProjectDeleteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        delete_conversations = form.cleaned_data["conversations"] == "delete"
        deleted = services.project_delete(
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
    projects = list(selectors.project_list_for_user(user=request.user))
    latest = conversation_selectors.conversation_latest_by_project(
        user=request.user, projects=projects, per_project=SIDEBAR_CONVERSATIONS
    )
    for project in projects:
        project.latest = latest[project.pk]
    return render(request, "projects/_sidebar.html#project-section", {"projects": projects})


@require_http_methods(["GET", "POST"])
@login_required
def conversation_move(request: HtmxHttpRequest, public_id: str) -> HttpResponse:
    """Ask which project a conversation belongs in (GET), then move it (POST)."""
    conversation = conversation_selectors.conversation_get_for_user(
        user=request.user, public_id=public_id
    )
    if request.method == "GET":
        context = {
            "conv": conversation,
            "projects": list(selectors.project_list_for_user(user=request.user)),
        }
        if is_partial(request):
            return render(request, "projects/move.html#move-dialog", context)
        return render(request, "projects/move.html", context)
    target = request.POST.get("project", "")
    project = (
        selectors.project_get_for_user(user=request.user, public_id=target) if target else None
    )
    conversation_services.conversation_set_project(conversation=conversation, project=project)
    if request.htmx:
        return render(request, "projects/_sidebar.html#refresh", {})
    flash.success(request, f"Moved to {project.title}." if project else "Moved out of its project.")
    return redirect("conversation", public_id=conversation.public_id)
