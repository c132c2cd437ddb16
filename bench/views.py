"""Bench-only views: a floor to compare against, and the sidebar selector as JSON."""

from django.http import JsonResponse
from django.views.decorators.http import require_GET

from conversations.selectors import InvalidCursor, conversation_list_for_sidebar

PAGE_SIZE = 50


@require_GET
def bare(request):
    """Return a constant JSON body without touching the database."""
    return JsonResponse({"ok": True})


@require_GET
def sidebar(request):
    """Return one sidebar page of the logged-in user as JSON."""
    if not request.user.is_authenticated:
        return JsonResponse({"error": "Log in first."}, status=401)
    try:
        page = conversation_list_for_sidebar(
            user=request.user, cursor=request.GET.get("cursor"), limit=PAGE_SIZE
        )
    except InvalidCursor as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    return JsonResponse(
        {
            "data": [
                {
                    "id": c.public_id,
                    "title": c.title,
                    "preview": c.preview,
                    "message_count": c.message_count,
                    "pinned": c.pinned_at is not None,
                    "updated_at": c.updated_at.isoformat(),
                }
                for c in page.items
            ],
            "next_cursor": page.next_cursor,
        }
    )
