"""The sidebar: the user's conversations, pinned first, grouped by date, loaded page by page."""

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.template import engines
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from conversations import selectors, views
from conversations.models import Conversation
from tests.factories import ConversationFactory
from tests.ui.conftest import HTMX, htmx_from

NOW = datetime(2026, 10, 15, 14, 0, tzinfo=UTC)


@pytest.fixture
def frozen_now(monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    return NOW


def headings(html: str) -> list[str]:
    return re.findall(r'<h2 class="group-heading">([^<]+)</h2>', html)


def row_titles(html: str) -> list[str]:
    return re.findall(r'<span class="row-title">([^<]+)</span>', html)


@pytest.mark.parametrize(
    ("moment", "label"),
    [
        (datetime(2026, 10, 15, 0, 0, 1, tzinfo=UTC), "Today"),
        (datetime(2026, 10, 16, 9, 0, tzinfo=UTC), "Today"),  # clock skew: never "future"
        (datetime(2026, 10, 14, 23, 59, 59, tzinfo=UTC), "Yesterday"),
        (datetime(2026, 10, 14, 0, 0, tzinfo=UTC), "Yesterday"),
        (datetime(2026, 10, 13, 23, 0, tzinfo=UTC), "Previous 7 days"),
        (datetime(2026, 10, 8, 0, 0, tzinfo=UTC), "Previous 7 days"),
        (datetime(2026, 10, 7, 23, 59, tzinfo=UTC), "Previous 30 days"),
        (datetime(2026, 9, 15, 0, 0, tzinfo=UTC), "Previous 30 days"),
        (datetime(2026, 9, 14, 23, 59, tzinfo=UTC), "September 2026"),
        (datetime(2025, 12, 31, 12, 0, tzinfo=UTC), "December 2025"),
    ],
)
def test_group_label_at_each_boundary(moment, label):
    assert views.group_label(moment, NOW.date()) == label


@override_settings(TIME_ZONE="America/New_York")
def test_groups_follow_the_users_time_zone():
    # 02:00 UTC on the 15th is still the evening of the 14th in New York.
    with timezone.override(ZoneInfo("America/New_York")):
        today = timezone.localtime(NOW).date()
        assert views.group_label(datetime(2026, 10, 15, 2, 0, tzinfo=UTC), today) == "Yesterday"
        assert views.group_label(datetime(2026, 10, 15, 5, 0, tzinfo=UTC), today) == "Today"


def test_sidebar_groups_rows_by_date_with_pinned_on_top(owner_client, owner, frozen_now):
    for title, age in [("Fresh", 0), ("Old", 40), ("Last week", 3), ("Yday", 1)]:
        ConversationFactory(owner=owner, title=title, updated_at=NOW - timedelta(days=age))
    ConversationFactory(
        owner=owner, title="Pinned one", pinned_at=NOW, updated_at=NOW - timedelta(days=90)
    )
    html = owner_client.get("/sidebar/", headers=HTMX).content.decode()
    assert headings(html) == ["Pinned", "Today", "Yesterday", "Previous 7 days", "September 2026"]
    assert row_titles(html) == ["Pinned one", "Fresh", "Yday", "Last week", "Old"]


def test_sidebar_lists_only_the_users_unarchived_conversations(owner_client, owner, outsider):
    ConversationFactory(owner=owner, title="Mine")
    ConversationFactory(owner=owner, title="Put away", archived_at=timezone.now())
    ConversationFactory(owner=outsider, title="Not mine")
    html = owner_client.get("/sidebar/", headers=HTMX).content.decode()
    assert row_titles(html) == ["Mine"]


def test_untitled_conversation_shows_placeholder_and_preview(owner_client, owner):
    ConversationFactory(owner=owner, title="", preview="## What is **HTMX**?")
    html = owner_client.get("/sidebar/", headers=HTMX).content.decode()
    assert row_titles(html) == ["New chat"]
    assert '<span class="row-preview">What is HTMX?</span>' in html
    assert 'aria-label="Options for New chat"' in html


def test_open_conversation_is_marked_current(owner_client, owner):
    first, second = ConversationFactory.create_batch(2, owner=owner)
    url = f"/c/{second.public_id}/"
    html = owner_client.get("/sidebar/", headers=htmx_from(url)).content.decode()
    assert html.count('aria-current="page"') == 1
    # Rows are plain links in a boosted list that swaps the chat pane.
    boosted = 'hx-boost="true" hx-target="main" hx-swap="outerHTML"'
    assert f'<ul class="rows" role="list" {boosted}>' in html
    assert f'<a class="row-link" href="{url}" aria-current="page">' in html
    current = re.search(r'<a class="row-link" href="([^"]+)"[^>]*aria-current="page"', html)
    assert current.group(1) == url


def test_pages_continue_without_repeating_a_heading(owner_client, owner, frozen_now):
    # 60 rows: 30 today, 30 yesterday; page one ends inside "Yesterday".
    for i in range(60):
        ConversationFactory(
            owner=owner,
            title=f"Chat {i:02d}",
            updated_at=NOW - timedelta(minutes=i) - timedelta(days=0 if i < 30 else 1),
        )
    first = owner_client.get("/sidebar/", headers=HTMX).content.decode()
    assert headings(first) == ["Today", "Yesterday"]
    assert len(row_titles(first)) == 50
    cursor = re.search(r'hx-get="/sidebar/\?cursor=([^"]+)"', first).group(1)
    assert 'hx-trigger="intersect once, click"' in first

    second = owner_client.get(f"/sidebar/?cursor={cursor}", headers=HTMX).content.decode()
    assert headings(second) == []  # still "Yesterday": no second heading
    assert row_titles(second) == [f"Chat {i:02d}" for i in range(50, 60)]
    assert "cursor=" not in second
    assert 'id="conversation-list"' not in second  # rows only, appended in place


def test_a_new_group_on_the_next_page_gets_its_heading(owner_client, owner, frozen_now):
    for i in range(50):
        ConversationFactory(owner=owner, updated_at=NOW - timedelta(minutes=i))
    ConversationFactory(owner=owner, title="Older", updated_at=NOW - timedelta(days=3))
    first = owner_client.get("/sidebar/", headers=HTMX).content.decode()
    cursor = re.search(r'hx-get="/sidebar/\?cursor=([^"]+)"', first).group(1)
    second = owner_client.get(f"/sidebar/?cursor={cursor}", headers=HTMX).content.decode()
    assert headings(second) == ["Previous 7 days"]
    assert row_titles(second) == ["Older"]


def test_bad_cursor_is_a_400(owner_client):
    response = owner_client.get("/sidebar/?cursor=not-a-cursor", headers=HTMX)
    assert response.status_code == 400


@pytest.mark.parametrize("rows", [2, 80])
def test_sidebar_query_count_is_fixed(owner_client, owner, django_assert_num_queries, rows):
    ConversationFactory.create_batch(rows, owner=owner)
    ConversationFactory.create_batch(3, owner=owner, pinned_at=timezone.now())
    # Expect 4 queries: session, user, pinned list, page list.
    with django_assert_num_queries(4):
        response = owner_client.get("/sidebar/", headers=HTMX)
    assert response.status_code == 200


def test_next_page_query_count_is_fixed(owner_client, owner, django_assert_num_queries):
    ConversationFactory.create_batch(120, owner=owner)
    html = owner_client.get("/sidebar/", headers=HTMX).content.decode()
    cursor = re.search(r'hx-get="/sidebar/\?cursor=([^"]+)"', html).group(1)
    # Expect 3 queries: session, user, page list (no pinned list after page one).
    with django_assert_num_queries(3):
        response = owner_client.get(f"/sidebar/?cursor={cursor}", headers=HTMX)
    assert len(row_titles(response.content.decode())) == 50


def test_sidebar_without_htmx_is_a_whole_page(owner_client, owner):
    ConversationFactory(owner=owner, title="Visible")
    html = owner_client.get("/sidebar/").content.decode()
    assert "<!doctype html>" in html
    assert '<nav aria-label="Conversations"' in html


def test_archived_page_lists_archived_with_unarchive(
    owner_client, owner, django_assert_num_queries
):
    ConversationFactory(owner=owner, title="Kept away", archived_at=timezone.now())
    ConversationFactory(owner=owner, title="In sidebar")
    # Expect 5 queries: session, user, archived list, pinned list, sidebar page.
    with django_assert_num_queries(5):
        response = owner_client.get("/archived/")
    html = response.content.decode()
    assert "Kept away" in html
    assert '<button type="submit" class="btn btn-small">Unarchive</button>' in html
    sidebar = html.split('<nav aria-label="Conversations"')[1].split("</nav>")[0]
    assert "Kept away" not in sidebar and "In sidebar" in sidebar


def test_archived_list_pages_with_a_cursor(owner_client, owner):
    for i in range(55):
        ConversationFactory(owner=owner, title=f"Archived {i:02d}", archived_at=timezone.now())
    html = owner_client.get("/archived/").content.decode()
    cursor = re.search(r"archived=1&amp;cursor=([^\"]+)\"", html).group(1)
    more = owner_client.get(f"/sidebar/?archived=1&cursor={cursor}", headers=HTMX)
    assert more.content.decode().count('class="archived-row"') == 5


def test_sidebar_placeholder_loads_lazily_on_pages_without_sidebar_data(owner_client):
    html = owner_client.get("/accounts/password/").content.decode()
    assert '<div id="conversation-list" class="conversation-list" hx-get="/sidebar/"' in html


def test_every_page_has_the_sidebar_refresh_placeholder(owner_client):
    assert '<div id="sidebar-refresh"></div>' in owner_client.get("/").content.decode()


def test_conversation_model_unchanged_by_listing(owner_client, owner):
    conv = ConversationFactory(owner=owner)
    before = Conversation.objects.get(pk=conv.pk).updated_at
    owner_client.get("/sidebar/", headers=HTMX)
    assert Conversation.objects.get(pk=conv.pk).updated_at == before


ROW_RE = re.compile(r'<li class="row[^"]*">.*?</li>', re.S)


def test_a_row_is_lean_and_its_menu_comes_when_opened(owner_client, owner):
    # The longest a title and preview can be: the row still stays small.
    ConversationFactory.create_batch(
        3, owner=owner, title="T" * 200, preview="word " * 40, pinned_at=timezone.now()
    )
    ConversationFactory.create_batch(60, owner=owner, title="Trip planning", preview="p" * 200)
    html = owner_client.get("/sidebar/", headers=HTMX).content.decode()
    rows = ROW_RE.findall(html)
    assert len(rows) == 53  # 3 pinned and one page of 50
    typical = [row for row in rows if "Trip planning" in row]
    # One lean row: bulk checkbox, link, options link; no menu, form or CSRF token.
    assert max(len(row.encode()) for row in typical) <= 600
    assert max(len(row.encode()) for row in rows) <= 1200  # a 200-character title, thrice
    assert "csrfmiddlewaretoken" not in html and "<form" not in html
    assert html.count('aria-label="Options for Trip planning"') == 50


@pytest.mark.parametrize(
    "selector", [selectors.conversation_list_for_sidebar, selectors.conversation_rows_for_sidebar]
)
def test_the_pinned_list_reads_its_partial_index(owner, selector):
    ConversationFactory.create_batch(3, owner=owner)
    ConversationFactory(owner=owner, pinned_at=timezone.now())
    with CaptureQueriesContext(connection) as captured:
        selector(user=owner, pinned=True, limit=100)
    (query,) = captured.captured_queries
    explain = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN "
    with connection.cursor() as cursor:
        cursor.execute(explain + query["sql"])
        plan = " ".join(str(row) for row in cursor.fetchall())
    assert "conv_pinned_idx" in plan


def test_many_pinned_rows_show_in_full_at_the_same_query_count(
    owner_client, owner, django_assert_num_queries
):
    # Pinned rows are the user's choice: all of them (up to PINNED_LIMIT) show, then a page.
    ConversationFactory.create_batch(49, owner=owner, title="Kept", pinned_at=timezone.now())
    ConversationFactory.create_batch(60, owner=owner, title="Dated")
    # Expect 4 queries: session, user, pinned list, page list.
    with django_assert_num_queries(4):
        html = owner_client.get("/sidebar/", headers=HTMX).content.decode()
    assert row_titles(html).count("Kept") == 49
    assert row_titles(html).count("Dated") == 50


@pytest.mark.parametrize(
    "preview",
    [
        "",
        "## **",
        "Short and plain",
        "x" * 40,
        "x" * 41,
        "A plain line that runs well past the forty characters a row shows",
        "**Bold** start, then [a link](https://example.com) and more words after it",
        "Ends in non-ASCII after the cut: " + "y" * 10 + " caf\u00e9",
        "Non-ASCII early: caf\u00e9 " + "z" * 60,
        "e\u0301" * 50,  # combining marks do not count
        "x" * 40 + "e\u0301 tail",  # a mark right after the cut point
        "\u00e9" * 41,
    ],
)
def test_row_preview_is_what_the_template_filters_give(preview):
    filters = engines["django"].from_string(
        '{% load chat %}{{ text|plain|truncatechars:40|default:"No messages yet" }}'
    )
    assert views.row_preview(preview) == filters.render({"text": preview})


def test_rows_are_rendered_once_and_again_when_what_they_show_changes(owner_client, owner):
    first, second = ConversationFactory.create_batch(2, owner=owner, title="Before")
    owner_client.get("/sidebar/", headers=HTMX)
    before = views._row_html.cache_info()
    html = owner_client.get("/sidebar/", headers=HTMX).content.decode()
    after = views._row_html.cache_info()
    assert (after.hits - before.hits, after.misses - before.misses) == (2, 0)
    assert row_titles(html) == ["Before", "Before"]

    first.title = "After"
    first.save(update_fields=["title"])
    second.preview = "A new preview"
    second.save(update_fields=["preview"])
    html = owner_client.get(
        "/sidebar/", headers=htmx_from(f"/c/{second.public_id}/")
    ).content.decode()
    assert sorted(row_titles(html)) == ["After", "Before"]
    assert '<span class="row-preview">A new preview</span>' in html
    assert html.count('aria-current="page"') == 1
    # Pinning moves a row; the row itself shows the same.
    first.pinned_at = timezone.now()
    first.save(update_fields=["pinned_at"])
    html = owner_client.get("/sidebar/", headers=HTMX).content.decode()
    assert headings(html)[0] == "Pinned" and row_titles(html)[0] == "After"
    assert html.count('aria-current="page"') == 0
