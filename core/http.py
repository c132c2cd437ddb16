"""Request helpers every browser door uses: the typed htmx request, login, page-or-partial."""

from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django_htmx.http import HttpResponseClientRedirect
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def login_required(view):
    """Send anonymous visitors to the login page (HTMX requests with a client redirect)."""

    @wraps(view)
    def wrapper(request: HtmxHttpRequest, *args, **kwargs):
        if request.user.is_authenticated:
            return view(request, *args, **kwargs)
        if request.htmx:
            login = reverse(settings.LOGIN_URL)
            back = urlencode({"next": request.htmx.current_url_abs_path or "/"})
            return HttpResponseClientRedirect(f"{login}?{back}")
        return redirect_to_login(request.get_full_path())

    return wrapper


def is_partial(request: HtmxHttpRequest) -> bool:
    """Return whether to answer with a region of the page rather than the whole page."""
    return bool(request.htmx) and not request.htmx.history_restore_request


def render_page(
    request: HtmxHttpRequest,
    template: str,
    partial: str,
    context: dict,
    *,
    status: int = 200,
) -> HttpResponse:
    """Render the whole page, or only its `partial` region for an HTMX request."""
    name = f"{template}#{partial}" if is_partial(request) else template
    return render(request, name, context, status=status)
