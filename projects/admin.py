from django.contrib import admin

from projects.models import Project


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["title", "public_id", "owner", "created_at", "updated_at"]
    list_select_related = ["owner"]
    list_filter = [
        ("updated_at", admin.DateFieldListFilter),
        ("created_at", admin.DateFieldListFilter),
    ]
    search_fields = ["=public_id", "title", "owner__username", "owner__email"]
    raw_id_fields = ["owner"]
    readonly_fields = ["public_id", "owner", "created_at", "updated_at"]
    fields = [
        "public_id",
        "owner",
        "title",
        "description",
        "instructions",
        "created_at",
        "updated_at",
    ]
    ordering = ["-updated_at", "-id"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False
