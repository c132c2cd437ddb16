"""Feedback on a reply in Chromium: a pressed thumb survives a reload; it changes with a comment."""

import re

from playwright.sync_api import expect

from tests.browser import both_sizes
from tests.e2e.test_chat_flow import REPLY, send


@both_sizes
def test_rate_a_reply_then_change_it_with_a_comment(signed_in_page, size):
    page = signed_in_page
    page.set_viewport_size(size)
    send(page, "Rate this answer")
    page.wait_for_url(re.compile(r"/c/conv_[0-9a-f]+/$"))
    reply = page.locator(REPLY).last
    good = reply.get_by_role("button", name="Good response")
    bad = reply.get_by_role("button", name="Bad response")
    expect(good).to_have_attribute("aria-pressed", "false")

    good.click()
    expect(good).to_have_attribute("aria-pressed", "true")
    page.reload()
    reply = page.locator(REPLY).last
    good = reply.get_by_role("button", name="Good response")
    bad = reply.get_by_role("button", name="Bad response")
    expect(good).to_have_attribute("aria-pressed", "true")
    expect(bad).to_have_attribute("aria-pressed", "false")

    bad.click()
    expect(bad).to_have_attribute("aria-pressed", "true")
    expect(good).to_have_attribute("aria-pressed", "false")
    reply.get_by_text("Add a comment").click()
    reply.get_by_role("textbox", name="Comment on this response").fill("It missed the question.")
    reply.get_by_role("button", name="Save comment").click()
    expect(reply.get_by_text("Edit comment")).to_be_visible()

    page.reload()
    reply = page.locator(REPLY).last
    expect(reply.get_by_role("button", name="Bad response")).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(
        reply.get_by_role("textbox", name="Comment on this response", include_hidden=True)
    ).to_have_value("It missed the question.")
    assert page.js_errors == []
