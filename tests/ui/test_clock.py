"""Your own clock: the browser's zone (the `tz` cookie) for groups and times, one format."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from accounts.services import api_key_create
from conversations.models import Message
from core.timezone import COOKIE_NAME, MAX_NAME_CHARS, zone_from_name
from sharing.services import share_create
from tests.factories import ConversationFactory, MessageFactory, UserFactory
from tests.ui.conftest import HTMX

# 10:00 UTC on Oct 15 is 23:00 the same day in Auckland (NZDT, +13) and 03:00 in Los Angeles.
NOW = datetime(2026, 10, 15, 10, 0, tzinfo=UTC)
LATE = datetime(2026, 10, 14, 23, 30, tzinfo=UTC)  # Auckland Oct 15 12:30, LA Oct 14 16:30
EARLY = datetime(2026, 10, 15, 5, 0, tzinfo=UTC)  # Auckland Oct 15 18:00, LA Oct 14 22:00


@pytest.fixture
def frozen_now(monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    return NOW


def headings_with_titles(html: str) -> list[tuple[str, str]]:
    """Return (group heading, row title) pairs in page order."""
    pairs, heading = [], None
    for match in re.finditer(
        r'<h2 class="group-heading">([^<]+)</h2>|<span class="row-title">([^<]+)</span>', html
    ):
        if match.group(1):
            heading = match.group(1)
        else:
            pairs.append((heading, match.group(2)))
    return pairs


# --- The middleware ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "zone"),
    [
        ("Pacific/Auckland", "Pacific/Auckland"),
        ("America/Argentina/ComodRivadavia", "America/Argentina/ComodRivadavia"),
        ("Etc/GMT+5", "Etc/GMT+5"),
        ("UTC", "UTC"),
        (None, None),
        ("", None),
        ("Mars/Olympus_Mons", None),  # well-formed, unknown
        ("America", None),  # a directory of the zone database, not a zone
        ("../../etc/passwd", None),
        ("/etc/localtime", None),
        ("zone.tab", None),
        ("Europe/Paris\x00", None),
        ("Europe/Paris; x=1", None),
        ("A/" * 40, None),
        ("x" * (MAX_NAME_CHARS + 1), None),
    ],
)
def test_zone_from_name_accepts_only_known_zones(value, zone):
    found = zone_from_name(value)
    assert (str(found) if found else None) == zone


@override_settings(TIME_ZONE="America/Los_Angeles")
@pytest.mark.parametrize(
    ("cookie", "zone"),
    [
        ("Pacific/Auckland", "Pacific/Auckland"),
        (None, "America/Los_Angeles"),
        ("Not/AZone", "America/Los_Angeles"),
        ("../../etc/passwd", "America/Los_Angeles"),
        ("Europe/" + "x" * 500, "America/Los_Angeles"),
    ],
)
def test_each_request_runs_in_the_cookie_zone_or_the_servers(owner_client, cookie, zone):
    if cookie is not None:
        owner_client.cookies[COOKIE_NAME] = cookie
    response = owner_client.get("/")
    assert response.status_code == 200
    assert f'<html lang="en" data-time-zone="{zone}">' in response.content.decode()
    # Nothing leaks past the request: the thread is back on the server's zone.
    assert timezone.get_current_timezone_name() == "America/Los_Angeles"


def test_the_login_page_renders_with_any_cookie(client):
    client.cookies[COOKIE_NAME] = "\u00e9\u00e9/\u00e9"
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert 'data-time-zone="UTC"' in response.content.decode()


# --- Date groups around midnight -----------------------------------------------------------


@pytest.mark.parametrize(
    ("cookie", "expected"),
    [
        # The server's zone (UTC): Oct 15 is today, 23:30 on the 14th was yesterday.
        (None, [("Today", "Early"), ("Yesterday", "Late")]),
        # Auckland is already near the end of Oct 15: both happened today there.
        ("Pacific/Auckland", [("Today", "Early"), ("Today", "Late")]),
        # Los Angeles is at 03:00 on Oct 15: both were on the evening before.
        ("America/Los_Angeles", [("Yesterday", "Early"), ("Yesterday", "Late")]),
    ],
)
def test_sidebar_groups_use_the_browsers_local_day(
    owner_client, owner, frozen_now, cookie, expected
):
    ConversationFactory(owner=owner, title="Late", updated_at=LATE)
    ConversationFactory(owner=owner, title="Early", updated_at=EARLY)
    if cookie:
        owner_client.cookies[COOKIE_NAME] = cookie
    html = owner_client.get("/sidebar/", headers=HTMX).content.decode()
    assert headings_with_titles(html) == expected


def test_next_sidebar_page_continues_the_group_in_the_browsers_zone(
    owner_client, owner, frozen_now
):
    # Auckland: every row is "Today", so the second page must not repeat the heading.
    for minute in range(55):
        ConversationFactory(
            owner=owner, title=f"Row {minute}", updated_at=LATE + timedelta(minutes=minute)
        )
    owner_client.cookies[COOKIE_NAME] = "Pacific/Auckland"
    first = owner_client.get("/sidebar/", headers=HTMX).content.decode()
    cursor = re.search(r"cursor=([^\"&]+)", first).group(1)
    second = owner_client.get(f"/sidebar/?cursor={cursor}", headers=HTMX).content.decode()
    assert {h for h, _ in headings_with_titles(first)} == {"Today"}
    assert "group-heading" not in second and "Row 0" in second


# --- One format on every page --------------------------------------------------------------

# 18:25 UTC on Dec 1 is 19:25 in Berlin.
MOMENT = datetime(2026, 12, 1, 18, 25, tzinfo=UTC)
SHOWN = "Dec 1, 2026, 19:25"
OLD_STYLES = [
    re.compile(r"\b[ap]\.m\."),  # Django's English DATETIME_FORMAT: "7:25 p.m."
    re.compile(r"\b[A-Z][a-z]{2,3}\. \d"),  # "Dec. 1"
    re.compile(r"\b[A-Z][a-z]{2} \d{1,2}, \d{1,2}:\d{2}"),  # "Dec 1, 19:25": no year
    re.compile(r"\b18:25\b"),  # the server's (UTC) clock
    re.compile(r"\bago\b"),  # relative times
]


def assert_one_format(html: str, *expected: str) -> None:
    text = html.replace(SHOWN, "").replace("Dec 1, 2026", "")
    for style in OLD_STYLES:
        assert not style.search(text), (style.pattern, style.search(text))
    for shown in expected:
        assert shown in html


@pytest.fixture
def berlin_client(owner_client):
    owner_client.cookies[COOKIE_NAME] = "Europe/Berlin"
    return owner_client


@pytest.fixture
def dated(owner):
    """A conversation whose every stamp is MOMENT: messages, archive, share, API key."""
    conversation = ConversationFactory(owner=owner, title="Puffins", updated_at=MOMENT)
    question = MessageFactory(conversation=conversation, content="Tell me about puffins")
    answer = MessageFactory(
        conversation=conversation,
        parent=question,
        role=Message.Role.ASSISTANT,
        content="Puffins nest in burrows.",
    )
    Message.objects.filter(conversation=conversation).update(created_at=MOMENT)
    conversation.current_message = answer
    conversation.save(update_fields=["current_message"])
    share = share_create(user=owner, conversation=conversation)
    share.created_at = MOMENT
    share.expires_at = MOMENT.replace(year=2036)  # still live
    share.save(update_fields=["created_at", "expires_at"])
    key, _secret = api_key_create(user=owner, name="laptop")
    key.created_at = key.last_used_at = key.revoked_at = MOMENT
    key.save(update_fields=["created_at", "last_used_at", "revoked_at"])
    archived = ConversationFactory(owner=owner, title="Old", archived_at=MOMENT)
    return {"conversation": conversation, "share": share, "archived": archived}


def test_every_page_shows_times_in_one_format_in_the_browsers_zone(berlin_client, dated):
    conversation, share = dated["conversation"], dated["share"]
    exact = f'<time datetime="2026-12-01T19:25:00+01:00" title="{SHOWN} (Europe/Berlin)">'
    pages = {
        f"/c/{conversation.public_id}/": [f"{exact}{SHOWN}</time>"],
        "/archived/": [f"Archived {exact}Dec 1, 2026</time>"],
        f"{reverse('search')}?q=puffins": [f"{exact}Dec 1, 2026</time>"],
        "/settings/keys/": [f"{exact}{SHOWN}</time>", f"Revoked {exact}{SHOWN}</time>"],
        "/shared/": [f"{exact}{SHOWN}</time>", ">Dec 1, 2036, 19:25</time>"],
        f"/s/{share.token}/": ["A read-only snapshot from ", f"{exact}Dec 1, 2026</time>"],
    }
    for url, expected in pages.items():
        response = berlin_client.get(url)
        assert response.status_code == 200, url
        assert_one_format(response.content.decode(), *expected)


def test_share_dialog_expiry_is_the_end_of_the_day_in_the_browsers_zone(berlin_client, dated):
    conversation = dated["conversation"]
    response = berlin_client.post(
        reverse("share-dialog", args=[conversation.public_id]),
        {"expiry": "date", "expires_on": "2027-01-10", "show_model_names": "on"},
        headers=HTMX,
    )
    assert response.status_code == 200
    html = response.content.decode()
    # The link works until the end of Jan 10 in Berlin: midnight there, 23:00 UTC.
    assert 'Expires <time datetime="2027-01-11T00:00:00+01:00"' in html
    assert ">Jan 11, 2027, 00:00</time>." in html
    assert_one_format(html)


def test_admin_lists_use_the_same_format(client, dated):
    client.force_login(UserFactory(username="moderator", is_staff=True, is_superuser=True))
    client.cookies[COOKIE_NAME] = "Europe/Berlin"
    staff_client = client
    for url in [
        reverse("admin:conversations_conversation_changelist"),
        reverse("admin:conversations_conversation_change", args=[dated["conversation"].pk]),
        reverse("admin:accounts_apikey_changelist"),
        reverse("admin:sharing_sharelink_changelist"),
    ]:
        response = staff_client.get(url)
        assert response.status_code == 200, url
        assert_one_format(response.content.decode(), SHOWN)
    # The conversation's messages, on its admin page, as everywhere else.
    change = reverse("admin:conversations_conversation_change", args=[dated["conversation"].pk])
    html = staff_client.get(change).content.decode()
    exact = f'<time datetime="2026-12-01T19:25:00+01:00" title="{SHOWN} (Europe/Berlin)">'
    assert html.count(f"<td>{exact}{SHOWN}</time></td>") == 2
