"""Project pages that need no conversation: list, create, edit."""

from django.contrib import messages as flash
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from core.http import HtmxHttpRequest, login_required
from projects import selectors, services
from projects.forms import ProjectForm


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
