"""The rough edges a first visit finds, measured in Chromium on a desktop and a phone screen."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.test_chat_flow import send

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
SIZES = pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])

# Eight projects (one conversation each) and thirty chats; one project conversation got its
# preview through the one writer of previews, one keeps markdown stored by an older version.
SEED = """
from django.contrib.auth import get_user_model
from conversations.counters import conversation_counters_update
from conversations.models import Conversation
from projects.models import Project
user = get_user_model().objects.get(username={username!r})
for i in range(8):
    project = Project.objects.create(
        owner=user, title=f"Project {{i}}", instructions="Answer like a naturalist." if i else ""
    )
    conv = Conversation.objects.create(owner=user, project=project, title=f"Inside {{i}}")
    if i == 0:
        conversation_counters_update(conv, preview_text="**Bold** and `code` in a [link](/x)")
        Conversation.objects.create(
            owner=user, project=project, title="Legacy", preview="# Heading with *stars*"
        )
for i in range(30):
    Conversation.objects.create(owner=user, title=f"Chat {{i}}", preview=f"Question {{i}}")
print(Project.objects.get(owner=user, title="Project 0").public_id)
print(Project.objects.get(owner=user, title="Project 1").public_id)
"""

VISIBLE_ROWS = """() => {
  const nav = document.querySelector('nav.conversations').getBoundingClientRect();
  return Array.from(document.querySelectorAll('#conversation-list .row')).filter((row) => {
    const box = row.getBoundingClientRect();
    const shown = Math.min(box.bottom, nav.bottom) - Math.max(box.top, nav.top);
    return box.height > 0 && shown >= box.height / 2;
  }).length;
}"""

# Fixed or absolutely placed boxes (flash, toast, dialogs) that cover the chat title.
COVERING_TITLE = """() => {
  const title = document.querySelector('#chat-title').getBoundingClientRect();
  return Array.from(document.querySelectorAll('body *')).filter((el) => {
    if (el.closest('.chat-head') || el.contains(document.querySelector('.chat-head'))) return false;
    const style = getComputedStyle(el);
    if (style.position !== 'fixed' || style.visibility === 'hidden') return false;
    const box = el.getBoundingClientRect();
    return box.width > 0 && box.height > 0 && box.left < title.right && box.right > title.left &&
      box.top < title.bottom && box.bottom > title.top;
  }).map((el) => el.className || el.tagName);
}"""


def seed(e2e_server, page) -> list[str]:
    return e2e_server.shell(SEED.format(username=page.username)).split()


def open_sidebar(page, size) -> None:
    if size is PHONE:
        page.get_by_role("button", name="Toggle sidebar").click()
        expect(page.get_by_role("navigation", name="Conversations")).to_be_in_viewport()


def box(locator) -> dict:
    found = locator.bounding_box()
    assert found is not None, locator
    return found


@SIZES
def test_sidebar_keeps_room_for_a_dozen_chats_beside_eight_projects(
    signed_in_page, e2e_server, size
):
    page = signed_in_page
    page.set_viewport_size(size)
    seed(e2e_server, page)
    page.goto("/")
    open_sidebar(page, size)
    sidebar = page.locator("#sidebar")
    expect(sidebar.get_by_role("link", name=re.compile("^Chat 29"))).to_be_visible()
    # Folded by default: the chats have the room, at least twelve rows in view.
    assert page.evaluate(VISIBLE_ROWS) >= 12
    projects = sidebar.locator("details.sidebar-projects")
    expect(projects.get_by_role("link", name="New project")).to_be_hidden()

    projects.locator("summary").filter(has_text="Projects").click()
    new_project = projects.get_by_role("link", name="New project")
    expect(new_project).to_be_visible()
    expect(projects.get_by_role("link", name=re.compile("^Project 7"))).to_be_attached()
    # Open, the eight projects scroll in their own box of at most 40% of the screen.
    body = projects.locator(".sidebar-projects-body")
    assert box(body)["height"] <= size["height"] * 0.4 + 1
    assert body.evaluate("el => el.scrollHeight > el.clientHeight")
    # "New project" looks like "New chat": no underline, the text colour.
    new_chat = sidebar.get_by_role("link", name="New chat", exact=True)
    style = "el => [getComputedStyle(el).textDecorationLine, getComputedStyle(el).color]"
    assert new_project.evaluate(style) == new_chat.evaluate(style)
    assert new_project.evaluate(style)[0] == "none"

    # The open state is remembered on the next page.
    page.reload()
    open_sidebar(page, size)
    expect(projects.get_by_role("link", name="New project")).to_be_visible()


@SIZES
def test_first_send_clears_the_welcome_from_the_title(signed_in_page, size):
    page = signed_in_page
    page.set_viewport_size(size)
    welcome = page.locator(".flash")
    expect(welcome).to_contain_text("Welcome")
    send(page, "Plan a picnic")
    page.wait_for_url(re.compile(r"/c/conv_[0-9a-f]+/$"))
    expect(welcome).to_have_count(0)
    title = page.locator("#chat-title")
    expect(title).to_be_visible()
    assert page.evaluate(COVERING_TITLE) == []


def test_project_page_shows_plain_previews_and_its_instructions(signed_in_page, e2e_server):
    page = signed_in_page
    first, second = seed(e2e_server, page)
    page.goto(f"/projects/{first}/")
    listing = page.locator("#project-conversations")
    expect(listing.get_by_role("link", name=re.compile("^Inside 0"))).to_contain_text(
        "Bold and code in a link"
    )
    expect(listing.get_by_role("link", name=re.compile("^Legacy"))).to_contain_text(
        "Heading with stars"
    )
    expect(listing).not_to_contain_text("**")
    expect(listing).not_to_contain_text("#")
    instructions = page.get_by_role("region", name="Instructions")
    expect(instructions).to_contain_text("No instructions")
    instructions.get_by_role("link", name="Edit instructions").click()
    expect(page.get_by_label("Instructions")).to_be_visible()

    page.goto(f"/projects/{second}/")
    instructions = page.get_by_role("region", name="Instructions")
    expect(instructions).to_contain_text("Answer like a naturalist.")
    expect(instructions.get_by_role("link", name="Edit instructions")).to_be_visible()


def create_key(page, name: str) -> str:
    page.goto("/settings/keys/")
    page.get_by_label("Name").fill(name)
    page.get_by_role("button", name="Create key").click()
    key = page.get_by_label("Your new key")
    expect(key).to_have_value(re.compile(r"^\S{20,}$"))
    return key.input_value()


def test_api_key_has_a_copy_button_and_create_key_has_room(signed_in_page, context, e2e_server):
    page = signed_in_page
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=e2e_server.url)
    raw = create_key(page, "laptop")
    page.get_by_role("button", name="Copy key").click()
    assert page.evaluate("navigator.clipboard.readText()") == raw
    field = box(page.get_by_label("Name"))
    button = box(page.get_by_role("button", name="Create key"))
    # Side by side on one line, 8 px or more apart.
    assert abs((field["y"] + field["height"] / 2) - (button["y"] + button["height"] / 2)) < 2
    assert button["x"] - (field["x"] + field["width"]) >= 8


def test_phone_keeps_revoke_and_open_on_screen(signed_in_page, e2e_server):
    page = signed_in_page
    send(page, "Share this one")
    page.set_viewport_size(PHONE)
    create_key(page, "phone")
    e2e_server.shell(
        "from django.contrib.auth import get_user_model\n"
        "from conversations.models import Conversation\n"
        "from sharing.services import share_create\n"
        f"user = get_user_model().objects.get(username={page.username!r})\n"
        "share_create(user=user, conversation=Conversation.objects.get(owner=user))\n"
    )
    width = PHONE["width"]
    for path, names in (("/settings/keys/", ["Revoke phone"]), ("/shared/", ["Revoke", "Open"])):
        page.goto(path)
        main = page.get_by_role("main")
        for name in names:
            control = main.get_by_role("button", name=re.compile(f"^{name}")).or_(
                main.get_by_role("link", name=re.compile(f"^{name}"))
            )
            expect(control.first).to_be_in_viewport(ratio=1)
            found = box(control.first)
            assert found["x"] >= 0 and found["x"] + found["width"] <= width, (path, name, found)
        # Nothing runs off to the side either.
        assert main.evaluate("el => el.scrollWidth <= el.clientWidth"), path


@SIZES
def test_open_edit_box_has_no_lone_pencil(signed_in_page, size):
    page = signed_in_page
    page.set_viewport_size(size)
    send(page, "Edit me later")
    question = page.locator("article.message-user").last
    question.hover()
    question.locator("summary").filter(has_text="Edit").click()
    area = question.get_by_role("textbox", name="Edit message")
    expect(area).to_be_focused()
    expect(question.locator("details.edit > summary")).to_be_hidden()
    copy = box(question.get_by_role("button", name="Copy message"))
    # The box follows the actions row directly: no line holding only the pencil between.
    assert box(area)["y"] - (copy["y"] + copy["height"]) < 16
    question.get_by_role("button", name="Cancel").click()
    expect(question.locator("details.edit > summary")).to_be_visible()


@SIZES
def test_search_filters_have_one_width(signed_in_page, size):
    page = signed_in_page
    page.set_viewport_size(size)
    page.goto("/search/")
    filters = page.get_by_role("group", name="Filters")
    widths = [
        box(filters.get_by_label(name))["width"]
        for name in ("Project", "Archived", "Pinned", "From", "To")
    ]
    assert max(widths) - min(widths) <= 1, widths
