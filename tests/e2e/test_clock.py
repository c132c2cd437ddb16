"""Your own clock in Chromium: date groups and times follow the browser's time zone.

The server runs in UTC (its TIME_ZONE); each browser context gets its own `timezone_id`.
"""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from tests.browser import DESKTOP, PHONE, log_in, sign_up
from tests.e2e.test_chat_flow import REPLY, send

AUCKLAND = ZoneInfo("Pacific/Auckland")


def day_start(now: datetime, zone) -> datetime:
    local = now.astimezone(zone)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)


def between_midnights(now: datetime) -> datetime:
    """Return a moment already "today" in one of Auckland and UTC and "yesterday" in the other."""
    first, second = sorted([day_start(now, AUCKLAND), day_start(now, UTC)])
    return first + (second - first) / 2


def label(moment: datetime, now: datetime, zone) -> str:
    same_day = moment.astimezone(zone).date() == now.astimezone(zone).date()
    return "Today" if same_day else "Yesterday"


def shown(moment: datetime, zone) -> str:
    """The site's one format (core/formats): "Dec 1, 2026, 19:25"."""
    local = moment.astimezone(zone)
    return f"{local:%b} {local.day}, {local.year}, {local:%H:%M}"


def zoned_page(browser, e2e_server, zone: str, viewport=DESKTOP):
    context = browser.new_context(base_url=e2e_server.url, viewport=viewport, timezone_id=zone)
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors
    return context, page


def add_conversation(e2e_server, username: str, moment: datetime) -> str:
    """Give the user a conversation with one message, both stamped `moment`; return its id."""
    return e2e_server.shell(
        "from datetime import datetime; from django.contrib.auth import get_user_model; "
        "from conversations.models import Conversation, Message; "
        f"m = datetime.fromisoformat({moment.isoformat()!r}); "
        f"u = get_user_model().objects.get(username={username!r}); "
        "c = Conversation.objects.create(owner=u, title='Midnight', created_at=m, updated_at=m, "
        "message_count=1, preview='Around midnight'); "
        "msg = Message.objects.create(conversation=c, role='user', content='Around midnight', "
        "created_at=m, updated_at=m); "
        "c.current_message = msg; c.save(update_fields=['current_message']); print(c.public_id)"
    ).strip()


def tz_cookie(context) -> dict:
    return next(cookie for cookie in context.cookies() if cookie["name"] == "tz")


def test_groups_and_times_follow_the_browsers_zone(browser, e2e_server):
    context, page = zoned_page(browser, e2e_server, "Pacific/Auckland")
    # The sign-up page already sets the cookie, so the first signed-in page is in Auckland time.
    username = sign_up(page)
    cookie = tz_cookie(context)
    assert (cookie["value"], cookie["path"], cookie["sameSite"]) == ("Pacific/Auckland", "/", "Lax")
    assert cookie["expires"] > datetime.now(UTC).timestamp() + 300 * 86400
    expect(page.locator("html")).to_have_attribute("data-time-zone", "Pacific/Auckland")

    now = datetime.now(UTC)
    moment = between_midnights(now)
    public_id = add_conversation(e2e_server, username, moment)
    page.goto("/")
    expect(
        page.get_by_role("navigation", name="Conversations").locator(".group-heading")
    ).to_have_text([label(moment, now, AUCKLAND)])
    page.goto(f"/c/{public_id}/")
    expect(page.locator("article.message-user time")).to_have_text(shown(moment, AUCKLAND))

    # The same account in a phone's browser on UTC: the other day's group, the other clock.
    utc_context, utc_page = zoned_page(browser, e2e_server, "UTC", viewport=PHONE)
    log_in(utc_page, username)
    assert label(moment, now, UTC) != label(moment, now, AUCKLAND)
    utc_page.get_by_role("button", name="Toggle sidebar").click()  # a phone opens it first
    expect(
        utc_page.get_by_role("navigation", name="Conversations").locator(".group-heading")
    ).to_have_text([label(moment, now, UTC)])
    utc_page.goto(f"/c/{public_id}/")
    expect(utc_page.locator("article.message-user time")).to_have_text(shown(moment, UTC))

    # A reply streamed in is rendered by the engine in the zone of the browser that asked.
    send(page, "What time is it?")
    stamp = page.locator(REPLY).last.locator("time").get_attribute("datetime")
    reply_at = datetime.fromisoformat(stamp)
    assert reply_at.utcoffset() == datetime.now(AUCKLAND).utcoffset()
    assert abs(reply_at - datetime.now(UTC)) < timedelta(minutes=5)
    assert page.js_errors == [] and utc_page.js_errors == []
    utc_context.close()
    context.close()


def test_a_changed_zone_is_stored_again_and_the_page_reloads_once(browser, e2e_server):
    context, page = zoned_page(browser, e2e_server, "Pacific/Auckland")
    username = sign_up(page)
    now = datetime.now(UTC)
    moment = between_midnights(now)
    public_id = add_conversation(e2e_server, username, moment)
    # As if the laptop last ran in Berlin: the server renders the page in Berlin time first.
    context.add_cookies([{"name": "tz", "value": "Europe/Berlin", "url": e2e_server.url}])
    loads = []
    page.on("request", lambda r: loads.append(r.url) if r.resource_type == "document" else None)
    page.goto(f"/c/{public_id}/")
    expect(page.locator("html")).to_have_attribute("data-time-zone", "Pacific/Auckland")
    expect(page.locator("article.message-user time")).to_have_text(shown(moment, AUCKLAND))
    assert tz_cookie(context)["value"] == "Pacific/Auckland"
    page.wait_for_timeout(500)
    assert len(loads) == 2  # the Berlin page, then one reload: never a loop
    assert page.js_errors == []
    context.close()
