"""Branch in a new chat from a message: the new chat opens at once with the thread so far."""

import re

from playwright.sync_api import expect

from tests.browser import both_sizes
from tests.e2e.test_chat_flow import REPLY, send


@both_sizes
def test_branch_in_new_chat_opens_a_copy(signed_in_page, size):
    page = signed_in_page
    page.set_viewport_size(size)
    send(page, "Branch me somewhere")
    page.wait_for_url(re.compile(r"/c/conv_[0-9a-f]+/$"))
    original = page.url
    expect(page.locator("#chat-title")).to_have_text("Branch me somewhere")
    page.locator(REPLY).last.get_by_role("button", name="Branch in new chat").click()
    page.wait_for_url(lambda url: url != original and "/c/conv_" in url)
    expect(page.locator("#chat-title")).to_have_text("Branch me somewhere (branch)")
    expect(page.locator("article.message-user")).to_contain_text("Branch me somewhere")
    expect(page.locator(REPLY)).to_have_count(1)
    assert page.js_errors == []
