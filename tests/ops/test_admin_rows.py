"""Admin rows planned once per page are Django's rows, byte for byte, on every registered list."""

import re

import pytest
from django.contrib import admin
from django.contrib.admin.templatetags import admin_list
from django.contrib.auth.models import Group
from django.urls import reverse

from accounts.services import api_key_create
from conversations import moderation
from conversations.models import Message
from conversations.templatetags import admin_rows
from tests.factories import ProjectFactory, UserFactory
from tests.ops.world import make_conversation, share


@pytest.fixture
def world(owner):
    """Rows with every kind of cell: empty and set relations, booleans both ways, choices,
    dates, numbers, and text that must be escaped."""
    project = ProjectFactory(owner=owner, title="Plans & <b>things</b>")
    shared = make_conversation(owner=owner, messages=3, title='<script>alert("x")</script>')
    share(shared)
    make_conversation(owner=owner, messages=2, project=project, title="{braces} & 'quotes'")
    locked = make_conversation(owner=UserFactory(username="bob<i>"), messages=1)
    moderation.conversation_lock(conversation=locked, actor=None, reason="<spam>")
    reply = Message.objects.filter(role="assistant").first()
    Message.objects.filter(pk=reply.pk).update(feedback_rating="up", model="demo")
    api_key_create(user=owner, name="a <key>")
    Group.objects.create(name="moderators & <friends>")


def rows(response) -> str:
    assert response.status_code == 200
    html = response.content.decode()
    table = re.search(r'<table id="result_list">.*?</table>', html, re.S)
    assert table, "the list shows a table of rows"
    return table.group(0)


QUERIES = {
    "conversations.conversation": ["?status__exact=locked", "?o=-6.2", "?q=message"],
    "conversations.message": ["?role__exact=assistant", "?o=3"],
}
PAGES = [
    (model._meta.label_lower, query)
    for model in admin.site._registry
    for query in ["", *QUERIES.get(model._meta.label_lower, [])]
]


@pytest.fixture
def items_calls(monkeypatch):
    """The rows Django's items_for_result renders (the rows of a list it draws)."""
    calls = []
    django_items = admin_list.items_for_result
    monkeypatch.setattr(
        admin_list, "items_for_result", lambda *a: calls.append(a) or django_items(*a)
    )
    return calls


@pytest.mark.parametrize(("model", "query"), PAGES)
def test_planned_rows_are_djangos(staff_client, world, model, query, items_calls, monkeypatch):
    url = reverse(f"admin:{model.replace('.', '_')}_changelist") + query
    ours = rows(staff_client.get(url))
    assert items_calls == [], "the planned rows rendered the list, not Django's items_for_result"

    def unplanned(cl):
        raise admin_rows._Unplanned("compare")

    monkeypatch.setattr(admin_rows, "_plan", unplanned)
    djangos = rows(staff_client.get(url))
    assert items_calls, "Django's items_for_result rendered the comparison"
    assert ours == djangos


def test_a_column_across_relations_is_left_to_django(staff_client, world, items_calls, monkeypatch):
    from conversations.admin import ConversationAdmin

    monkeypatch.setattr(
        ConversationAdmin, "list_display", [*ConversationAdmin.list_display, "owner__username"]
    )
    page = rows(staff_client.get(reverse("admin:conversations_conversation_changelist")))
    assert items_calls and "field-owner__username" in page


def test_callable_columns_are_djangos(staff_client, world, items_calls, monkeypatch):
    """Columns that are no field: a date (its cell nowraps), a boolean with no answer, a
    relation that is gone (the empty value), a model method."""
    from django.core.exceptions import ObjectDoesNotExist

    from conversations.admin import ConversationAdmin

    def unknown(obj):
        return None

    unknown.boolean = True

    def gone(obj):
        raise ObjectDoesNotExist

    monkeypatch.setattr(
        ConversationAdmin,
        "list_display",
        [*ConversationAdmin.list_display, lambda obj: obj.created_at, unknown, gone, "get_title"],
    )
    monkeypatch.setattr(
        "conversations.models.Conversation.get_title", lambda self: self.title, raising=False
    )
    url = reverse("admin:conversations_conversation_changelist")
    ours = rows(staff_client.get(url))
    assert items_calls == []
    monkeypatch.setattr(
        admin_rows, "_plan", lambda cl: (_ for _ in ()).throw(admin_rows._Unplanned())
    )
    assert ours == rows(staff_client.get(url))
    assert items_calls
    assert re.search(r'<td class="field-lambda\d+ nowrap">', ours)


@pytest.mark.parametrize(
    "query",
    ["?p=2", "?q=topic&p=2", "?q=topic", "?status__exact=active&o=-6.2&p=2", "?o=3"],
)
def test_a_page_by_its_ids_shows_djangos_rows(staff_client, owner, query, monkeypatch):
    """BoundedPaginator reads a page's ids first, then its rows: the same rows in the same
    order as Django's slice of the whole list, searched (the ids as one array on
    PostgreSQL), filtered, sorted, deep."""
    from django.core.paginator import Paginator

    from conversations.admin import BoundedPaginator, ConversationAdmin

    monkeypatch.setattr(ConversationAdmin, "list_per_page", 7)
    for n in range(25):
        make_conversation(owner=owner, messages=1, age_days=n % 4, title=f"topic {n}")
        # Rows the search does not match, among the ones it does.
        make_conversation(owner=owner, messages=1, age_days=n % 3, title=f"other {n}")
    url = reverse("admin:conversations_conversation_changelist") + query

    def listed(response):
        assert response.status_code == 200
        return re.findall(r'name="_selected_action" value="(\d+)"', response.content.decode())

    ours = listed(staff_client.get(url))
    monkeypatch.setattr(BoundedPaginator, "page", Paginator.page)
    assert ours == listed(staff_client.get(url))
    assert len(ours) == 7 or "p=" not in query
