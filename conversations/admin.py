from django import forms
from django.contrib import admin, messages
from django.contrib.admin import ActionLocation
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.utils import quote as admin_quote
from django.contrib.admin.views.main import SEARCH_VAR, ChangeList
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Count, Exists, F, Lookup, OuterRef, Q
from django.db.models.functions import Substr
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.translation import gettext as _

from conversations import fulltext, moderation, services
from conversations.models import Conversation, Message, ModerationEvent
from conversations.templatetags.chat import id_path
from core.converters import is_public_id

# Messages shown per page on a conversation's admin page.
MESSAGE_PAGE_SIZE = 50
EXCERPT_CHARS = 300
# A search lists (and counts) at most this many conversations, the newest matches of each
# kind; refine it to see others.
SEARCH_COUNT_CAP = 1000
BOTH_LOCATIONS = [ActionLocation.CHANGE_LIST, ActionLocation.CHANGE_FORM]


def _live_shares():
    # The share model is reached through the relation: conversations never import sharing.
    share_model = Conversation._meta.get_field("share_links").related_model
    return share_model.objects.live().filter(conversation=OuterRef("pk"))


class OwnerFilter(admin.SimpleListFilter):
    """Filter by owner id; offers no choices (there may be millions), set from the owner link."""

    title = "owner"
    parameter_name = "owner"

    def lookups(self, request, model_admin):
        value = self.value()
        if value and value.isdigit():
            # One query, only when an owner is selected.
            user = Conversation.owner.field.related_model.objects.filter(pk=value).first()
            if user:
                return [(str(user.pk), user.get_username())]
        return []

    def queryset(self, request, queryset):
        value = self.value()
        if value and value.isdigit():
            return queryset.filter(owner_id=value)
        return queryset


class ProjectFilter(admin.SimpleListFilter):
    """Filter by project: any or none, or one of the selected owner's projects."""

    title = "project"
    parameter_name = "project"

    def lookups(self, request, model_admin):
        choices = [("any", "In a project"), ("none", "No project")]
        owner = request.GET.get(OwnerFilter.parameter_name, "")
        if owner.isdigit():
            projects = Conversation.project.field.related_model.objects.filter(owner_id=owner)
            choices += [(str(pk), title) for pk, title in projects.values_list("pk", "title")]
        return choices

    def queryset(self, request, queryset):
        match self.value():
            case None:
                return queryset
            case "any":
                return queryset.filter(project__isnull=False)
            case "none":
                return queryset.filter(project__isnull=True)
            case value if value.isdigit():
                return queryset.filter(project_id=value)
        return queryset


class SharedFilter(admin.SimpleListFilter):
    """Filter by whether the conversation has a live (unrevoked, unexpired) share link."""

    title = "shared"
    parameter_name = "shared"

    def lookups(self, request, model_admin):
        return [("yes", "Has live share links"), ("no", "No live share link")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(Exists(_live_shares()))
        if self.value() == "no":
            return queryset.filter(~Exists(_live_shares()))
        return queryset


class ReasonForm(forms.Form):
    reason = forms.CharField(
        max_length=moderation.REASON_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="The owner sees this reason.",
    )

    def __init__(self, *args, reason_required: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].required = reason_required
        if not reason_required:
            self.fields["reason"].help_text = "Optional; kept in the moderation log."


# A changelist pages at most this deep: page 100 of 100 rows is OFFSET 9,900, still cheap;
# past that a moderator filters or searches instead of paging through a million rows.
MAX_PAGES = 100


class BoundedPaginator(Paginator):
    """Never a full COUNT(*) and never a deep OFFSET.

    An unfiltered PostgreSQL table is counted from the planner's estimate; anything else is
    counted up to the rows MAX_PAGES pages can show (a LIMIT inside the count stops early),
    and pages past MAX_PAGES do not exist.
    """

    @cached_property
    def count(self):
        queryset = self.object_list
        connection = connections[queryset.db]
        if connection.vendor == "postgresql" and not queryset.query.where:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT reltuples::bigint FROM pg_class WHERE relname = %s",
                    [queryset.model._meta.db_table],
                )
                row = cursor.fetchone()
            if row and row[0] > 10_000:
                return row[0]
        # Neither order nor annotations matter to a count: the first rows found will do.
        return queryset.order_by().values("pk")[: self.per_page * MAX_PAGES].count()

    @cached_property
    def num_pages(self):
        return min(super().num_pages, MAX_PAGES)

    def page(self, number):
        """The page's rows by their ids first: `pk IN (the ordered ids, LIMIT, OFFSET)`.

        Sliced whole, a page computed every column of each row it passed (the joins, the
        live-share EXISTS) before it skipped them: page 100 of the conversations took 30 ms
        on PostgreSQL for the 9,900 skipped, a search 10 ms for its 1,500 candidates. The
        ids come from the same filters and order (the sort's columns alone), then the
        page's rows are read and ordered again: one query, as before.
        """
        page = super().page(number)
        page.object_list = self.object_list.filter(pk__in=page.object_list.values("pk"))
        return page


class CappedCountPaginator(BoundedPaginator):
    """Count at most SEARCH_COUNT_CAP rows: a search for a common word stops early."""

    @cached_property
    def count(self):
        return self.object_list.order_by().values("pk")[:SEARCH_COUNT_CAP].count()


class AnyOf(Lookup):
    """`column = ANY(%s)`, the values bound as one array (PostgreSQL)."""

    lookup_name = "any"
    prepare_rhs = False

    def get_db_prep_lookup(self, value, connection):
        return "%s", [list(value)]

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} = ANY({rhs})", (*lhs_params, *rhs_params)


def _with_ids(queryset, ids: list[int]):
    """Filter `queryset` to the rows whose pk is in `ids` (up to 2 * SEARCH_COUNT_CAP).

    On PostgreSQL the ids go as one array, `id = ANY(%s)`: an IN list of 2,000 parameters
    was prepared value by value, then parsed by the server, for the count and again for
    the page (16 and 16 ms against 6 and 10 ms at a million messages). A lookup, not SQL
    naming the table: inside the page's id subquery (BoundedPaginator.page) the table has
    an alias, and a name would mean the outer row.
    """
    if connections[queryset.db].vendor != "postgresql":
        return queryset.filter(pk__in=ids)
    return queryset.filter(AnyOf(F("pk"), ids))


class RowLinksChangeList(ChangeList):
    """Each row's link from one reversal per page: the change URL with the list's filters.

    Django reverses the change URL for each row, then add_preserved_filters parses it and
    resolves it again (to see whether it is the changelist) before attaching the filters: a
    fifth of a 100-row page. The link is the same string: the row's admin-quoted pk in the
    change URL (id_path: reversed once, quoted as reverse quotes), and the filters Django
    would attach (`_changelist_filters`), attached here. items_for_result then finds no
    filters left to add.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._change_url = f"admin:{self.opts.app_label}_{self.opts.model_name}_change"
        self._row_query = f"?{self.preserved_filters}" if self.preserved_filters else ""
        self.preserved_filters = ""

    def url_for_result(self, result):
        pk = admin_quote(getattr(result, self.pk_attname))
        return id_path(pk, self._change_url) + self._row_query


class ConversationChangeList(RowLinksChangeList):
    """Join the project and read the page's owners by one more query, never a join.

    Joined to the user table (a few rows), SQLite's planner reads the users first and sorts
    every conversation of theirs, the live-share EXISTS computed for each, to show one page
    (0.1-0.45 s at 110,000 conversations). Alone, the conversations are read along
    conv_updated_idx newest first, and the walk stops after the page.
    """

    def get_queryset(self, request, exclude_parameters=None):
        queryset = super().get_queryset(request, exclude_parameters)
        return queryset.select_related(None).select_related("project").prefetch_related("owner")


class ConversationForm(forms.ModelForm):
    def clean_title(self):
        try:
            return services.validate_title(self.cleaned_data["title"])
        except ValidationError as error:
            raise ValidationError(error.message_dict["title"]) from None


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    form = ConversationForm
    list_display = [
        "__str__",
        "public_id",
        "owner_link",
        "project",
        "status",
        "message_count",
        "is_shared",
        "updated_at",
    ]
    list_filter = [
        "status",
        OwnerFilter,
        ProjectFilter,
        SharedFilter,
        ("updated_at", admin.DateFieldListFilter),
        ("created_at", admin.DateFieldListFilter),
        ("archived_at", admin.EmptyFieldListFilter),
        ("pinned_at", admin.EmptyFieldListFilter),
    ]
    # The search itself is get_search_results(); these make the search box appear.
    search_fields = ["title", "owner__username", "owner__email"]
    search_help_text = (
        'Words or a "phrase" in titles and messages (word OR word, -word), an owner\'s '
        f"username or email, or an exact conv_ id (at most {SEARCH_COUNT_CAP:,} results)."
    )
    ordering = ["-updated_at", "-id"]
    paginator = BoundedPaginator
    show_full_result_count = False
    fields = [
        "public_id",
        "title",
        "owner",
        "project",
        "status",
        "status_reason",
        "message_count",
        "token_count",
        "preview",
        "metadata",
        "pinned_at",
        "archived_at",
        "created_at",
        "updated_at",
    ]
    # Only the title is editable; status changes go through the moderation actions.
    readonly_fields = [field for field in fields if field != "title"]
    actions = [
        "lock_conversations",
        "close_conversations",
        "reopen_conversations",
        "revoke_shares",
        "delete_conversations",
    ]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("owner", "project")
            .annotate(shared=Exists(_live_shares()))
        )

    def get_search_results(self, request, queryset, search_term):
        """Match an exact conv_ id, else the text's words or an owner's username or email.

        A conv_ id is looked up by its unique index alone. Anything else is a web search (words,
        "phrases", OR, -word) in the full-text index of titles and messages, and a substring
        of owners' usernames and emails. Each part yields at most SEARCH_COUNT_CAP
        conversations, the newest, read from an index: a common word costs what a rare one
        does, and the list pages through those ids alone.
        """
        term = " ".join(search_term.split())
        if not term:
            return queryset, False
        if is_public_id(term, prefix="conv"):
            return queryset.filter(public_id=term), False
        ids = set(fulltext.conversation_ids_matching(query=term, limit=SEARCH_COUNT_CAP))
        user_model = Conversation.owner.field.related_model
        owners = list(
            user_model.objects.filter(Q(username__icontains=term) | Q(email__icontains=term))
            .order_by()
            .values_list("pk", flat=True)[:SEARCH_COUNT_CAP]
        )
        if owners:
            # Their newest conversations, from the sidebar index (owner, -updated_at, -id).
            newest = Conversation.objects.filter(owner_id__in=owners).order_by("-updated_at", "-id")
            ids.update(newest.values_list("pk", flat=True)[:SEARCH_COUNT_CAP])
        return _with_ids(queryset, sorted(ids)), False

    def get_changelist(self, request, **kwargs):
        return ConversationChangeList

    def get_paginator(self, request, queryset, per_page, orphans=0, allow_empty_first_page=True):
        if request.GET.get(SEARCH_VAR):
            return CappedCountPaginator(queryset, per_page, orphans, allow_empty_first_page)
        return super().get_paginator(request, queryset, per_page, orphans, allow_empty_first_page)

    def get_actions(self, request, action_location=ActionLocation.CHANGE_LIST):
        actions = super().get_actions(request, action_location=action_location)
        # Deleting goes through delete_conversations, which asks for a reason and logs it.
        actions.pop("delete_selected", None)
        return actions

    def has_add_permission(self, request):
        return False

    def action_checkbox(self, obj):
        """Return the checkbox CheckboxInput renders, without its template: a fifth of a page."""
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            ACTION_CHECKBOX_NAME,
            obj.pk,
            format_html(_("Select this object for an action - {}"), str(obj)),
        )

    @admin.display(description="owner", ordering="owner__username")
    def owner_link(self, obj):
        # This list filtered to the owner: a query on the page's own path, not a reverse()
        # per row (84 µs each, a tenth of a 100-row page).
        return format_html('<a href="?owner={}">{}</a>', obj.owner_id, obj.owner)

    @admin.display(description="shared", boolean=True)
    def is_shared(self, obj):
        return obj.shared

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context.update(self._message_page(request, obj))
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _message_page(self, request, conversation):
        """Return one keyset page of the conversation's messages, all branches, oldest first."""
        after = request.GET.get("messages_after", "")
        before = request.GET.get("messages_before", "")
        rows = (
            Message.objects.filter(conversation=conversation)
            .annotate(excerpt=Substr("content", 1, EXCERPT_CHARS))
            .values(
                "pk",
                "public_id",
                "parent__public_id",
                "role",
                "status",
                "model",
                "created_at",
                "excerpt",
            )
        )
        if before.isdigit():
            page = list(rows.filter(pk__lt=before).order_by("-pk")[: MESSAGE_PAGE_SIZE + 1])
            has_previous, has_next = len(page) > MESSAGE_PAGE_SIZE, True
            page = page[:MESSAGE_PAGE_SIZE][::-1]
        else:
            if after.isdigit():
                rows = rows.filter(pk__gt=after)
            page = list(rows.order_by("pk")[: MESSAGE_PAGE_SIZE + 1])
            has_previous, has_next = after.isdigit(), len(page) > MESSAGE_PAGE_SIZE
            page = page[:MESSAGE_PAGE_SIZE]
        return {
            "message_page": page,
            "message_page_previous": page[0]["pk"] if page and has_previous else None,
            "message_page_next": page[-1]["pk"] if page and has_next else None,
            "message_excerpt_chars": EXCERPT_CHARS,
        }

    def _moderate(self, request, queryset, *, service, title, verb, reason_required):
        """Ask for a reason on an intermediate page, then apply the service to each row."""
        form = ReasonForm(
            request.POST if "apply" in request.POST else None,
            reason_required=reason_required,
        )
        if "apply" in request.POST and form.is_valid():
            done = 0
            for conversation in queryset.select_related(None).iterator(chunk_size=500):
                service(
                    conversation=conversation,
                    actor=request.user,
                    reason=form.cleaned_data["reason"],
                )
                done += 1
            self.message_user(request, f"{verb} {done} conversation(s).", messages.SUCCESS)
            return None
        # Carry the action's own fields (action, selection, location) through the form.
        carried = [
            (key, value)
            for key in request.POST
            if key not in ("csrfmiddlewaretoken", "reason", "apply")
            for value in request.POST.getlist(key)
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.opts,
            "form": form,
            "carried": carried,
            "count": queryset.count(),
            "sample": list(queryset[:20]),
        }
        return TemplateResponse(
            request, "admin/conversations/conversation/moderation_reason.html", context
        )

    @admin.action(description="Lock… (with reason)", location=BOTH_LOCATIONS)
    def lock_conversations(self, request, queryset):
        return self._moderate(
            request,
            queryset,
            service=moderation.conversation_lock,
            title="Lock conversations",
            verb="Locked",
            reason_required=True,
        )

    @admin.action(description="Close… (with reason)", location=BOTH_LOCATIONS)
    def close_conversations(self, request, queryset):
        return self._moderate(
            request,
            queryset,
            service=moderation.conversation_close,
            title="Close conversations",
            verb="Closed",
            reason_required=True,
        )

    @admin.action(description="Reopen…", location=BOTH_LOCATIONS)
    def reopen_conversations(self, request, queryset):
        return self._moderate(
            request,
            queryset.exclude(status=Conversation.Status.ACTIVE),
            service=moderation.conversation_reopen,
            title="Reopen conversations",
            verb="Reopened",
            reason_required=False,
        )

    @admin.action(description="Revoke all share links…", location=BOTH_LOCATIONS)
    def revoke_shares(self, request, queryset):
        return self._moderate(
            request,
            queryset,
            service=moderation.conversation_revoke_shares,
            title="Revoke all share links",
            verb="Revoked the share links of",
            reason_required=False,
        )

    @admin.action(
        description="Delete… (with reason)",
        permissions=["delete"],
        location=BOTH_LOCATIONS,
    )
    def delete_conversations(self, request, queryset):
        response = self._moderate(
            request,
            queryset,
            service=moderation.conversation_delete_moderated,
            title="Delete conversations",
            verb="Deleted",
            reason_required=False,
        )
        if response is None:
            # The change page it may come from no longer exists.
            return HttpResponseRedirect(reverse("admin:conversations_conversation_changelist"))
        return response

    def save_model(self, request, obj, form, change):
        # The only editable field; the service also refreshes the owner's open sidebars.
        if "title" in form.changed_data:
            services.conversation_rename(conversation=obj, title=obj.title)

    def get_deleted_objects(self, objs, request):
        """Summarise what goes instead of listing every message: there may be thousands."""
        objs = list(objs)
        listed = [f"Conversation: {obj} ({obj.message_count} messages)" for obj in objs]
        counts = {
            "conversations": len(objs),
            "messages": sum(obj.message_count for obj in objs),
        }
        return listed, counts, set(), []

    def delete_model(self, request, obj):
        moderation.conversation_delete_moderated(
            conversation=obj, actor=request.user, reason="Deleted from its admin page."
        )

    def delete_queryset(self, request, queryset):
        for conversation in queryset.iterator(chunk_size=500):
            self.delete_model(request, conversation)


class FeedbackFilter(admin.SimpleListFilter):
    """Filter by the owner's rating of a reply."""

    title = "feedback"
    parameter_name = "feedback"

    def lookups(self, request, model_admin):
        return [
            ("any", "Rated"),
            *Message.Rating.choices,
            ("comment", "Rated with a comment"),
            ("none", "Not rated"),
        ]

    def queryset(self, request, queryset):
        match self.value():
            case "any":
                return queryset.exclude(feedback_rating="")
            case "comment":
                return queryset.exclude(feedback_rating="").exclude(feedback_comment="")
            case "none":
                return queryset.filter(feedback_rating="")
            case value if value in Message.Rating.values:
                return queryset.filter(feedback_rating=value)
        return queryset


def feedback_by_model(queryset) -> list[dict]:
    """Count good and bad ratings per model among `queryset`'s messages (one query).

    Only rated rows are read: the partial index msg_feedback_idx holds exactly those.
    """
    return list(
        queryset.exclude(feedback_rating="")
        .order_by()
        .values("model")
        .annotate(
            up=Count("pk", filter=Q(feedback_rating=Message.Rating.UP)),
            down=Count("pk", filter=Q(feedback_rating=Message.Rating.DOWN)),
        )
        .order_by("model")
    )


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    """Read-only: messages change through the product, conversations through moderation."""

    list_display = [
        "public_id",
        "conversation",
        "role",
        "status",
        "model",
        "feedback_rating",
        "created_at",
    ]
    list_select_related = ["conversation"]
    list_filter = ["role", "status", FeedbackFilter]
    # Exact matches only: a substring search over millions of messages is a full scan.
    # get_search_results() picks the one indexed column the term can be.
    search_fields = ["=public_id", "=conversation__public_id", "=call_id"]
    search_help_text = "An exact msg_ id, conv_ id or call id."
    raw_id_fields = ["conversation", "parent"]
    ordering = ["-pk"]
    paginator = BoundedPaginator
    show_full_result_count = False

    def get_changelist(self, request, **kwargs):
        return RowLinksChangeList

    def get_queryset(self, request):
        # The list shows no text; a message can hold 100,000 characters.
        return super().get_queryset(request).defer("content", "content_html")

    def changelist_view(self, request, extra_context=None):
        """Add the per-model rating counts of the listed (filtered) messages above the list."""
        response = super().changelist_view(request, extra_context)
        context = getattr(response, "context_data", None)
        if context and "cl" in context:
            context["feedback_by_model"] = feedback_by_model(context["cl"].queryset)
        return response

    def get_search_results(self, request, queryset, search_term):
        """Match one exact id by the index of its kind, never an OR across three columns."""
        term = search_term.strip()
        if not term:
            return queryset, False
        if is_public_id(term, prefix="msg"):
            return queryset.filter(public_id=term), False
        if is_public_id(term, prefix="conv"):
            return queryset.filter(conversation__public_id=term), False
        return queryset.filter(call_id=term), False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ModerationEvent)
class ModerationEventAdmin(admin.ModelAdmin):
    """The moderation log: who did what to which conversation, when and why. Read-only."""

    list_display = [
        "created_at",
        "actor",
        "action",
        "conversation_link",
        "conversation_title",
        "reason",
    ]
    list_select_related = ["actor"]
    list_filter = ["action", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["=conversation_public_id", "conversation_title", "reason", "actor__username"]
    ordering = ["-created_at", "-id"]
    paginator = BoundedPaginator
    show_full_result_count = False

    def get_changelist(self, request, **kwargs):
        return RowLinksChangeList

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="conversation", ordering="conversation_public_id")
    def conversation_link(self, obj):
        if obj.conversation_id is None:
            return obj.conversation_public_id
        url = id_path(obj.conversation_id, "admin:conversations_conversation_change")
        return format_html('<a href="{}">{}</a>', url, obj.conversation_public_id)
