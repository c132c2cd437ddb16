"""The API keys settings page: list, create (the key is shown once), revoke."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from accounts.selectors import api_key_get_for_user, api_key_list_for_user
from accounts.services import NAME_MAX_CHARS, api_key_create, api_key_revoke


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        label="Name",
        max_length=NAME_MAX_CHARS,
        required=False,
        help_text="Something to tell this key apart, such as the program that uses it.",
    )


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def api_keys(request):
    """Show the user's keys; on POST create one and show its secret this one time."""
    form = ApiKeyForm(request.POST or None)
    created = None
    if request.method == "POST" and form.is_valid():
        try:
            created, raw_key = api_key_create(user=request.user, name=form.cleaned_data["name"])
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            created.raw_key = raw_key
            form = ApiKeyForm()
    context = {
        "form": form,
        "created": created,
        "keys": api_key_list_for_user(user=request.user),
    }
    return render(
        request,
        "accounts/api_keys.html",
        context,
        status=201 if created else (400 if form.errors else 200),
    )


@login_required
@require_POST
def api_key_revoke_view(request, prefix):
    """Revoke one of the user's keys."""
    api_key = api_key_get_for_user(user=request.user, prefix=prefix)
    api_key_revoke(api_key=api_key)
    messages.success(request, f"Key {api_key.prefix}… revoked. Programs using it now get 401.")
    return redirect("api-keys")
