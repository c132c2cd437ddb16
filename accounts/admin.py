from django.contrib import admin, messages

from accounts.forms import AdminLoginForm
from accounts.models import ApiKey
from accounts.services import api_key_revoke

# The admin's login counts against the same limits as the site's (accounts/throttling.py).
admin.site.login_form = AdminLoginForm


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
        revoked = 0
        for api_key in queryset.filter(revoked_at__isnull=True).iterator(chunk_size=500):
            api_key_revoke(api_key=api_key)
            revoked += 1
        self.message_user(request, f"Revoked {revoked} key(s).", messages.SUCCESS)
