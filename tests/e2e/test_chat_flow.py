"""The browser app end to end: real daphne, real websockets, real Chromium."""

import re

from playwright.sync_api import expect

from tests.browser import log_in, sign_up

REPLY = "article.message-assistant"


def new_chat(page) -> None:
    page.get_by_role("link", name="New chat", exact=True).click()
    expect(page.get_by_role("heading", name="How can I help?")).to_be_visible()


def wait_for_reply(page) -> None:
    expect(page.locator(f'{REPLY}[data-status="in_progress"]')).to_have_count(0, timeout=20_000)
    expect(page.locator(REPLY).last).to_have_attribute("data-status", "completed")


def send(page, text: str) -> None:
    replies = page.locator("article.message-assistant").count()
    page.get_by_role("textbox", name="Message").fill(text)
    page.get_by_role("button", name="Send").click()
    expect(page.locator("article.message-assistant")).to_have_count(replies + 1)
    wait_for_reply(page)


def row(page, title: str):
    """The sidebar row whose title is exactly `title`."""
    nav = page.get_by_role("navigation", name="Conversations")
    exact = page.locator(".row-title").filter(has_text=re.compile(f"^{re.escape(title)}$"))
    return nav.get_by_role("listitem").filter(has=exact)


def test_reply_streams_in_then_the_chat_is_listed_under_today(signed_in_page):
    page = signed_in_page
    csp_errors = []
    page.on(
        "console",
        lambda msg: csp_errors.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    new_chat(page)
    box = page.get_by_role("textbox", name="Message")
    box.fill("Tell me about htmx websockets")
    box.press("Enter")
    page.wait_for_url(re.compile(r"/c/conv_[0-9a-f]+/$"))
    expect(page.locator("article.message-user")).to_contain_text("Tell me about htmx websockets")

    reply = page.locator(REPLY).last
    expect(page.get_by_role("button", name="Stop")).to_be_visible()
    # Two observations while it streams: the text grows in place, over the websocket.
    page.wait_for_function(
        "() => document.querySelector('article.message-assistant .message-body')"
        ".textContent.length > 20"
    )
    first = len(reply.locator(".message-body").text_content())
    assert reply.get_attribute("data-status") == "in_progress"
    page.wait_for_function(
        "n => document.querySelector('article.message-assistant .message-body')"
        ".textContent.length > n",
        arg=first,
    )
    # The open tail is shown too (its frames are text that app.js applies, not htmx).
    page.wait_for_function(
        "() => { const tail = document.querySelector("
        "'article.message-assistant[data-status=in_progress] .stream-tail');"
        " return tail && tail.textContent.trim().length > 0; }"
    )
    wait_for_reply(page)
    assert len(reply.locator(".message-body").text_content()) > first
    expect(page.get_by_role("button", name="Send")).to_be_visible()
    expect(reply.locator("table")).to_be_visible()
    expect(reply.locator(".codeblock")).to_be_visible()

    # The demo model titles the chat from the first message; the sidebar updates live.
    expect(row(page, "Tell me about htmx websockets")).to_be_visible()
    expect(page.locator("#chat-title")).to_have_text("Tell me about htmx websockets")

    page.reload()
    nav = page.get_by_role("navigation", name="Conversations")
    expect(nav.get_by_role("heading", name="Today")).to_be_visible()
    link = nav.get_by_role("link", name=re.compile("^Tell me about htmx websockets"))
    expect(link).to_have_attribute("aria-current", "page")
    assert csp_errors == []
    assert page.js_errors == []


def test_rename_pin_archive_and_delete_from_the_menu(signed_in_page, console_problems):
    page = signed_in_page
    # The refused empty title is a 400, which the browser and htmx both log.
    console_problems.allow(
        r"status of 400 \(Bad Request\)", r"Error Code 400 from /c/conv_\w+/rename/"
    )
    new_chat(page)
    send(page, "First conversation here")
    new_chat(page)
    send(page, "Second conversation here")
    title = "Second conversation here"
    expect(row(page, title)).to_be_visible()

    # Rename: an empty title is refused inline, then a good one is saved.
    page.get_by_label(f"Options for {title}", exact=True).click()
    page.get_by_role("link", name="Rename").click()
    field = page.get_by_role("textbox", name="Title")
    field.fill("   ")
    field.press("Enter")
    expect(page.get_by_role("alert")).to_have_text("Enter a title.")
    field.fill("  Renamed chat  ")
    page.get_by_role("button", name="Save").click()
    expect(row(page, "Renamed chat")).to_be_visible()
    expect(page.locator("#chat-title")).to_have_text("Renamed chat")

    # Pin: it moves under "Pinned".
    page.get_by_label("Options for Renamed chat", exact=True).click()
    page.get_by_role("button", name="Pin", exact=True).click()
    nav = page.get_by_role("navigation", name="Conversations")
    expect(nav.get_by_role("heading", name="Pinned")).to_be_visible()
    page.get_by_label("Options for Renamed chat", exact=True).click()
    expect(page.get_by_role("button", name="Unpin")).to_be_visible()
    page.keyboard.press("Escape")

    # Archive: it leaves the sidebar and shows on the Archived page, from where it returns.
    page.get_by_label("Options for Renamed chat", exact=True).click()
    page.get_by_role("button", name="Archive", exact=True).click()
    expect(row(page, "Renamed chat")).to_have_count(0)
    page.get_by_label(re.compile("^Account menu")).click()
    page.get_by_role("link", name="Archived").click()
    archived = page.get_by_role("main").get_by_role("listitem")
    expect(archived).to_have_count(1)
    expect(archived).to_contain_text("Renamed chat")
    archived.get_by_role("button", name="Unarchive").click()
    expect(archived).to_have_count(0)
    expect(row(page, "Renamed chat")).to_be_visible()

    # Delete: confirm in a dialog; the row goes and other tabs are told through the socket.
    page.get_by_label("Options for First conversation here", exact=True).click()
    page.get_by_role("link", name="Delete").click()
    dialog = page.get_by_role("dialog", name="Delete conversation?")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Delete").click()
    expect(dialog).to_have_count(0)
    expect(row(page, "First conversation here")).to_have_count(0)
    expect(row(page, "Renamed chat")).to_be_visible()
    assert page.js_errors == []


def test_sidebar_updates_in_another_tab(context, e2e_server):
    first = context.new_page()
    sign_up(first)
    second = context.new_page()
    second.goto("/")
    first.get_by_role("textbox", name="Message").fill("Seen from the other tab")
    first.get_by_role("button", name="Send").click()
    expect(row(second, "Seen from the other tab")).to_be_visible(timeout=20_000)


def test_stop_keeps_the_partial_reply(signed_in_page):
    page = signed_in_page
    page.get_by_role("textbox", name="Message").fill("Write something long please")
    page.get_by_role("button", name="Send").click()
    page.wait_for_function(
        "() => (document.querySelector('article.message-assistant .message-body') || {})"
        ".textContent?.length > 5"
    )
    page.get_by_role("button", name="Stop").click()
    reply = page.locator(REPLY).last
    expect(reply).to_have_attribute("data-status", "stopped", timeout=10_000)
    expect(reply.get_by_role("status")).to_contain_text("Stopped")
    kept = reply.locator(".message-body").text_content()
    assert kept
    page.reload()
    expect(page.locator(REPLY).last.locator(".message-body")).to_have_text(kept.strip())
    expect(page.get_by_role("button", name="Send")).to_be_visible()


def test_regenerate_and_switch_between_versions(signed_in_page):
    page = signed_in_page
    send(page, "Give me two versions")
    page.locator(REPLY).last.hover()
    page.locator(REPLY).last.get_by_role("button", name="Regenerate").click()
    expect(page.locator(".version-count")).to_have_text("2/2")
    wait_for_reply(page)
    page.get_by_role("button", name="Previous version").click()
    expect(page.locator(".version-count")).to_have_text("1/2")
    page.reload()
    expect(page.locator(".version-count")).to_have_text("1/2")  # the choice is remembered


def test_edit_a_message_makes_a_new_branch(signed_in_page):
    page = signed_in_page
    send(page, "Original question")
    question = page.locator("article.message-user").last
    question.hover()
    question.locator("summary").filter(has_text="Edit").click()
    question.get_by_role("textbox", name="Edit message").fill("Edited question")
    question.get_by_role("button", name="Save and send").click()
    expect(page.locator("article.message-user .version-count")).to_have_text("2/2")
    wait_for_reply(page)
    expect(page.locator("article.message-user").last).to_contain_text("Edited question")


def test_keyboard_shortcuts(signed_in_page):
    page = signed_in_page
    box = page.get_by_role("textbox", name="Message")
    box.fill("line one")
    box.press("Shift+Enter")
    box.type("line two")
    assert box.input_value() == "line one\nline two"
    box.press("Enter")
    page.wait_for_url(re.compile(r"/c/conv_"))
    wait_for_reply(page)
    expect(page.locator("article.message-user .message-body")).to_contain_text("line two")
    page.keyboard.press("Control+Shift+O")
    expect(page.get_by_role("heading", name="How can I help?")).to_be_visible()
    page.wait_for_url(re.compile(r"/$"))


def test_phone_sized_screen_hides_the_sidebar_behind_a_toggle(signed_in_page):
    page = signed_in_page
    send(page, "Small screens matter")
    page.set_viewport_size({"width": 390, "height": 844})
    nav = page.get_by_role("navigation", name="Conversations")
    expect(nav).to_be_hidden()
    expect(page.get_by_role("textbox", name="Message")).to_be_visible()
    page.get_by_role("button", name="Toggle sidebar").click()
    expect(nav).to_be_visible()
    nav.get_by_role("link", name=re.compile("^Small screens matter")).click()
    expect(nav).to_be_hidden()
    page.get_by_role("button", name="Toggle sidebar").click()
    page.get_by_role("button", name="Close sidebar").click()
    expect(nav).to_be_hidden()


def test_log_in_again_after_logging_out(page):
    username = sign_up(page)
    page.get_by_label(re.compile("^Account menu")).click()
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    page.goto("/")
    expect(page).to_have_url(re.compile("/accounts/login/"))
    log_in(page, username)
    expect(page.get_by_role("textbox", name="Message")).to_be_visible()
