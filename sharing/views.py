"""The public share page, the share dialog and the owner's Shared links page."""

from functools import wraps

from django.contrib import messages as flash
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.throttling import RateLimited, throttle_check
from conversations.selectors import (
    InvalidCursor,
    conversation_get_for_user,
    message_get_for_user,
)
from conversations.views import sidebar_context
from core.http import HtmxHttpRequest, login_required
from sharing import selectors, services
from sharing.forms import ShareForm
from sharing.models import ShareLink

ROBOTS_TXT = "User-agent: *\nDisallow: /s/\n"
SHARED_LINKS_PAGE = 100


def public_headers(view=None, *, referrer_policy: str = "no-referrer"):
    """Keep public share pages out of indexes, caches and other sites' referrer logs."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            response = view(request, *args, **kwargs)
            response["X-Robots-Tag"] = "noindex, nofollow"
            response["Referrer-Policy"] = referrer_policy
            response["Cache-Control"] = "no-store"
            return response

        return wrapper

    return decorator(view) if view is not None else decorator


def _not_found(request: HttpRequest) -> HttpResponse:
    return render(request, "sharing/not_found.html", status=404)


def share_url(request: HttpRequest, share: ShareLink) -> str:
    """Return the absolute public address of a link."""
    return request.build_absolute_uri(reverse("share-view", args=[share.token]))


# --- Public --------------------------------------------------------------------------------


@require_GET
@public_headers
def share_view(request: HttpRequest, token: str) -> HttpResponse:
    """Show a link's snapshot read-only to anyone holding the link, a page at a time.

    Queries: the live link, the page of the path, the view count (first page only).
    """
    after = request.GET.get("after") or None
    try:
        share = selectors.share_get_live(token=token)
        page = selectors.share_snapshot_page(share=share, after=after)
    except Http404:
        return _not_found(request)
    if after is None:
        # A visit counts once, on its first page; "Show more" pages are the same visit.
        services.share_record_view(share=share)
    context = {
        "share": share,
        "entries": [(message, 1, 1) for message in page.messages],
        "next_after": page.next_after,
        "is_first_page": after is None,
        # Flags the canonical message partial honours on public pages.
        "read_only": True,
        "hide_model_names": not share.show_model_names,
        "user_label": "User",
    }
    return render(request, "sharing/public.html", context)


# The snapshot page sends no referrer, so browsers post its forms with `Origin: null`, which
# Django's CSRF check rightly refuses. Continuing therefore confirms on a page of its own that
# keeps the referrer on this site (same-origin), and posts from there.
@require_http_methods(["GET", "POST"])
@public_headers(referrer_policy="same-origin")
@login_required
def share_continue(request: HttpRequest, token: str) -> HttpResponse:
    """Confirm (GET), then copy the snapshot into the viewer's account and open the copy."""
    try:
        share = selectors.share_get_live(token=token)
    except Http404:
        return _not_found(request)
    if request.method == "GET":
        return render(request, "sharing/continue.html", {"share": share})
    conversation = services.share_continue(share=share, user=request.user)
    return redirect("conversation", public_id=conversation.public_id)


@require_GET
def robots_txt(request: HttpRequest) -> HttpResponse:
    return HttpResponse(ROBOTS_TXT, content_type="text/plain; charset=utf-8")


# --- Owner ---------------------------------------------------------------------------------


def _render(request: HtmxHttpRequest, template: str, partial: str, context: dict, **kwargs):
    """Render the named partial for HTMX, else the whole page with the sidebar."""
    if request.htmx and not request.htmx.history_restore_request:
        return render(request, f"{template}#{partial}", context, **kwargs)
    return render(request, template, context | sidebar_context(request), **kwargs)


@require_http_methods(["GET", "POST"])
@login_required
def share_dialog(request: HtmxHttpRequest, public_id: str) -> HttpResponse:
    """Offer the share options for a conversation (or one of its messages); create the link."""
    conversation = conversation_get_for_user(user=request.user, public_id=public_id)
    message = None
    message_id = request.GET.get("message") or request.POST.get("message")
    if message_id:
        message = message_get_for_user(
            user=request.user, public_id=message_id, conversation=conversation
        )
    share = None
    status = 200
    if request.method == "POST":
        form = ShareForm(request.POST)
        if form.is_valid():
            try:
                throttle_check(user=request.user, scope="write")
                share = services.share_create(
                    user=request.user,
                    conversation=conversation,
                    message=message,
                    include_context=form.cleaned_data["include_context"],
                    show_model_names=form.cleaned_data["show_model_names"],
                    **form.expiry_kwargs(),
                )
            except ValidationError as exc:
                form.add_error(None, exc.messages)
            except RateLimited as exc:
                form.add_error(None, exc.message)
                status = 429
        if share is None and status == 200:
            status = 422
    else:
        form = ShareForm()
    context = {
        "conversation": conversation,
        "shared_message": message,
        "form": form,
        "share": share,
        "link_url": share_url(request, share) if share else "",
    }
    return _render(request, "sharing/share_dialog.html", "share-dialog", context, status=status)


@require_GET
@login_required
def shared_links(request: HtmxHttpRequest) -> HttpResponse:
    """List the user's links, newest first, with their state and views."""
    try:
        page = selectors.share_list_for_user(
            user=request.user, cursor=request.GET.get("cursor"), limit=SHARED_LINKS_PAGE
        )
    except InvalidCursor:
        return redirect("shared-links")
    rows = [(share, share_url(request, share)) for share in page.items]
    context = {
        "rows": rows,
        "links_cursor": page.next_cursor,
        "now": timezone.now(),
        "is_first_page": not request.GET.get("cursor"),
    }
    return _render(request, "sharing/shared_links.html", "shared-links", context)


@require_POST
@login_required
def share_revoke(request: HtmxHttpRequest, token: str) -> HttpResponse:
    """Revoke one of the user's links."""
    share = selectors.share_get_for_user(user=request.user, token=token)
    services.share_revoke(share=share)
    flash.success(request, f"Link to “{share.conversation}” revoked. It now answers “not found”.")
    return redirect("shared-links")


@require_POST
@login_required
def share_revoke_all(request: HtmxHttpRequest) -> HttpResponse:
    """Revoke every link of the user."""
    count = services.share_revoke_all(user=request.user)
    flash.success(request, f"Revoked {count} link{'' if count == 1 else 's'}.")
    return redirect("shared-links")
