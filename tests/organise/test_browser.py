"""Projects, bulk selection and search in a real Chromium against a real daphne."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

SEED = """
from django.contrib.auth import get_user_model
from conversations.models import Conversation, Message
user = get_user_model().objects.get(username={username!r})
for i in range(4):
    c = Conversation.objects.create(owner=user, title=f"Topic {{i}}")
    text = f"question {{i}} about <b>otters</b>"
    m = Message.objects.create(conversation=c, role="user", content=text)
    c.current_message = m
    c.message_count = 1
    c.save()
"""


def _seed(e2e_server, page) -> None:
    e2e_server.shell(SEED.format(username=page.username))
    page.goto("/")


def _row_box(page, title: str):
    return page.get_by_role("checkbox", name=f"Select {title}")


def test_shift_click_selects_a_range_and_bulk_archive_hides_it(signed_in_page, e2e_server):
    page = signed_in_page
    _seed(e2e_server, page)
    nav = page.get_by_role("navigation", name="Conversations")
    expect(nav.get_by_role("link", name="Topic 3")).to_be_visible()
    _row_box(page, "Topic 3").click()
    _row_box(page, "Topic 1").click(modifiers=["Shift"])
    expect(page.get_by_text("3 selected")).to_be_visible()
    page.get_by_role("button", name="Archive", exact=True).click()
    expect(page.get_by_text("Archived 3 conversations.")).to_be_visible()
    expect(nav.get_by_role("link", name="Topic 2")).to_have_count(0)
    expect(nav.get_by_role("link", name="Topic 0")).to_be_visible()
    assert page.js_errors == []


def test_search_shortcut_finds_escaped_snippet_and_opens_the_message(signed_in_page, e2e_server):
    page = signed_in_page
    _seed(e2e_server, page)
    page.keyboard.press("/")
    expect(page.get_by_role("searchbox", name="Search conversations")).to_be_focused()
    page.keyboard.type("otters")
    page.keyboard.press("Enter")
    results = page.locator(".result")
    expect(results).to_have_count(4)
    expect(results.first.locator("mark")).to_have_text("otters")
    # Markup in the message is shown as text, never as HTML.
    expect(results.first).to_contain_text("<b>")
    results.first.get_by_role("link").click()
    page.wait_for_url("**/c/conv_*/#message-msg_*")
    assert page.js_errors == []


def test_create_project_and_move_a_conversation_into_it(signed_in_page, e2e_server):
    page = signed_in_page
    _seed(e2e_server, page)
    page.goto("/projects/new/")
    page.get_by_label("Name").fill("Wildlife")
    page.get_by_label("Instructions").fill("Answer like a naturalist.")
    page.get_by_role("button", name="Create project").click()
    expect(page.get_by_role("heading", name="Wildlife")).to_be_visible()
    page.goto("/")
    page.get_by_label("Options for Topic 2", exact=True).click()
    page.get_by_role("link", name="Move to project").click()
    dialog = page.get_by_role("dialog", name="Move to project")
    dialog.get_by_label("Project").select_option(label="Wildlife")
    dialog.get_by_role("button", name="Move").click()
    projects = page.locator(".sidebar-projects")
    projects.locator("summary").filter(has_text="Projects").click()  # folded by default
    expect(projects.get_by_role("link", name="Topic 2")).to_be_visible()
    projects.get_by_role("link", name="Wildlife").click()
    # The project's own list (the sidebar may show a "Today" group of its own too).
    listed = page.locator("#project-conversations")
    expect(listed.get_by_role("heading", name="Today")).to_be_visible()
    expect(listed.get_by_role("link", name="Topic 2")).to_be_visible()
    assert page.js_errors == []
