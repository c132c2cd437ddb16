from django.contrib import admin, messages
from django.utils import timezone

from accounts.models import ApiKey


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """API keys are made by their owner or `create_api_key` (the key is shown once there)."""

    list_display = ["prefix", "name", "user", "created_at", "last_used_at", "revoked_at"]
    list_select_related = ["user"]
    list_filter = [
        ("revoked_at", admin.EmptyFieldListFilter),
        ("created_at", admin.DateFieldListFilter),
        ("last_used_at", admin.DateFieldListFilter),
    ]
    search_fields = ["=prefix", "name", "user__username", "user__email"]
    raw_id_fields = ["user"]
    fields = ["user", "name", "prefix", "key_hash", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["user", "prefix", "key_hash", "created_at", "last_used_at", "revoked_at"]
    ordering = ["-created_at", "-id"]
    show_full_result_count = False
    actions = ["revoke_keys"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Revoke selected keys")
    def revoke_keys(self, request, queryset):
        revoked = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"Revoked {revoked} key(s).", messages.SUCCESS)
