from django.contrib import admin, messages
from django.db.models import Q
from django.utils import timezone

from sharing.models import ShareLink
from sharing.services import share_revoke


class LiveFilter(admin.SimpleListFilter):
    """Filter share links by whether they still open: not revoked and not expired."""

    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("live", "Live"), ("revoked", "Revoked"), ("expired", "Expired")]

    def queryset(self, request, queryset):
        now = timezone.now()
        match self.value():
            case "live":
                return queryset.live(now)
            case "revoked":
                return queryset.filter(revoked_at__isnull=False)
            case "expired":
                return queryset.filter(Q(expires_at__lte=now), revoked_at__isnull=True)
        return queryset


@admin.register(ShareLink)
class ShareLinkAdmin(admin.ModelAdmin):
    list_display = [
        "conversation",
        "owner",
        "created_at",
        "expires_at",
        "revoked_at",
        "view_count",
        "include_context",
    ]
    list_select_related = ["conversation", "owner"]
    list_filter = [LiveFilter, ("created_at", admin.DateFieldListFilter), "include_context"]
    search_fields = ["=conversation__public_id", "conversation__title", "owner__username"]
    raw_id_fields = ["owner", "conversation", "message"]
    fields = [
        "token",
        "owner",
        "conversation",
        "message",
        "include_context",
        "show_model_names",
        "created_at",
        "expires_at",
        "revoked_at",
        "view_count",
    ]
    # The token is a bearer secret: readable here for support, never editable.
    readonly_fields = ["token", "owner", "conversation", "message", "created_at", "view_count"]
    ordering = ["-created_at", "-id"]
    show_full_result_count = False
    actions = ["revoke_links"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Revoke selected share links")
    def revoke_links(self, request, queryset):
        revoked = 0
        for share in queryset.filter(revoked_at__isnull=True).iterator(chunk_size=500):
            share_revoke(share=share)
            revoked += 1
        self.message_user(request, f"Revoked {revoked} share link(s).", messages.SUCCESS)
