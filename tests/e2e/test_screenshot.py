"""The main screen, photographed for the README.

`UPDATE_SCREENSHOT=1` writes it to docs/screenshot.png; otherwise it goes to a temporary
folder so a test run leaves the tree as it found it.
"""

import os
from pathlib import Path

from playwright.sync_api import expect

DOCS = Path(__file__).resolve().parents[2] / "docs"


def new_chat(page) -> None:
    page.get_by_role("link", name="New chat", exact=True).click()
    expect(page.get_by_role("heading", name="How can I help?")).to_be_visible()


def send(page, text: str) -> None:
    replies = page.locator("article.message-assistant").count()
    page.get_by_role("textbox", name="Message").fill(text)
    page.get_by_role("button", name="Send").click()
    expect(page.locator("article.message-assistant")).to_have_count(replies + 1)
    # The reply is finished when its article leaves the in-progress state.
    expect(page.locator('article.message-assistant[data-status="in_progress"]')).to_have_count(
        0, timeout=20_000
    )
    expect(page.locator("article.message-assistant").last).to_have_attribute(
        "data-status", "completed"
    )


def test_main_screen_screenshot(signed_in_page, tmp_path):
    page = signed_in_page
    for topic in ("Plan a weekend in Lisbon", "Explain websockets simply"):
        new_chat(page)
        send(page, topic)
    new_chat(page)
    send(page, "How do I reverse a list in Python without copying it?")
    expect(page.locator("#chat-title")).not_to_have_text("New chat")
    # Reloaded, the stored reply looks the same as the streamed one (and the token total is in).
    page.set_viewport_size({"width": 1280, "height": 900})
    page.reload()
    expect(page.locator(".markdown table").last).to_be_visible()
    expect(page.locator(".codeblock").last).to_be_visible()
    expect(page.locator("#token-total")).not_to_have_text("0 tokens")
    page.locator("article.message-user").last.evaluate("el => el.scrollIntoView({block: 'start'})")
    page.mouse.move(5, 5)
    folder = DOCS if os.environ.get("UPDATE_SCREENSHOT") else tmp_path
    page.screenshot(path=str(folder / "screenshot.png"))
    assert (folder / "screenshot.png").stat().st_size > 10_000
    assert page.js_errors == []


def test_changed_screens_screenshots(signed_in_page, e2e_server, tmp_path):
    """The sidebar with projects open, a chat, a project page and the API keys on a phone."""
    from tests.e2e.test_first_visit import PHONE, create_key, seed

    page = signed_in_page
    folder = DOCS if os.environ.get("UPDATE_SCREENSHOT") else tmp_path
    send(page, "Plan a weekend in Lisbon")
    expect(page.locator("#chat-title")).to_have_text("Plan a weekend in Lisbon")
    page.mouse.move(5, 5)
    page.screenshot(path=str(folder / "chat.png"))
    first, _ = seed(e2e_server, page)
    page.goto("/")
    page.locator("details.sidebar-projects summary").click()
    expect(page.get_by_role("link", name="New project")).to_be_visible()
    page.mouse.move(5, 5)
    page.screenshot(path=str(folder / "sidebar.png"))
    page.goto(f"/projects/{first}/")
    expect(page.get_by_role("region", name="Instructions")).to_be_visible()
    page.screenshot(path=str(folder / "project.png"))
    page.set_viewport_size(PHONE)
    create_key(page, "phone")
    create_key(page, "laptop")
    page.screenshot(path=str(folder / "phone-keys.png"))
    for name in ("chat", "sidebar", "project", "phone-keys"):
        assert (folder / f"{name}.png").stat().st_size > 10_000, name
    assert page.js_errors == []
