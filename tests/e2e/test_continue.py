"""Continue end to end: stop a reply mid-stream, press Continue, the same message grows."""

from playwright.sync_api import expect

from tests.browser import both_sizes
from tests.e2e.test_chat_flow import REPLY


def body_length(page, selector: str) -> int:
    return page.evaluate(
        "s => document.querySelector(s + ' .message-body').textContent.length", selector
    )


@both_sizes
def test_continue_grows_the_stopped_reply_in_the_same_message(signed_in_page, size):
    page = signed_in_page
    page.set_viewport_size(size)
    page.get_by_role("textbox", name="Message").fill("Explain sourdough starters to me")
    page.get_by_role("button", name="Send").click()
    page.wait_for_function(
        "() => (document.querySelector('article.message-assistant .message-body') || {})"
        ".textContent?.length > 5"
    )
    page.get_by_role("button", name="Stop").click()
    reply = page.locator(REPLY).last
    expect(reply).to_have_attribute("data-status", "stopped")
    reply_id = reply.get_attribute("id")
    same = f"#{reply_id}"
    kept = body_length(page, same)
    assert kept > 5
    expect(reply.locator("table")).to_have_count(0)  # the demo reply ends with a table

    reply.hover()
    page.locator(same).get_by_role("button", name="Continue").click()
    # The same article runs again: Stop shows, and the text grows live over the websocket.
    expect(page.locator(same)).to_have_attribute("data-status", "in_progress")
    expect(page.get_by_role("button", name="Stop")).to_be_visible()
    page.wait_for_function(
        "([s, n]) => document.querySelector(s + ' .message-body').textContent.length > n",
        arg=[same, kept],
    )
    expect(page.locator(same)).to_have_attribute("data-status", "completed", timeout=20_000)
    final = page.locator(same).locator(".message-body").text_content()
    assert len(final) > kept
    expect(page.locator(same).locator("table")).to_be_visible()
    expect(page.locator(REPLY)).to_have_count(1)
    expect(page.locator(".version-count")).to_have_count(0)  # grown in place, no new version
    expect(page.locator(same).get_by_role("button", name="Continue")).to_have_count(0)
    expect(page.get_by_role("button", name="Send")).to_be_visible()

    page.reload()
    expect(page.locator(REPLY)).to_have_count(1)
    expect(page.locator(same).locator(".message-body")).to_have_text(final.strip())
    assert page.js_errors == []
