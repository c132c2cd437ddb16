"""The header's token total and each reply's usage label are live, with no reload."""

import re

from playwright.sync_api import expect

from tests.browser import both_sizes
from tests.e2e.test_chat_flow import REPLY, send


@both_sizes
def test_token_total_and_usage_label_update_live(signed_in_page, size):
    page = signed_in_page
    page.set_viewport_size(size)
    send(page, "Count my tokens please")
    page.wait_for_url(re.compile(r"/c/conv_[0-9a-f]+/$"))
    total = page.locator("#token-total")
    expect(total).not_to_have_text("0 tokens")
    expect(page.locator(REPLY).last.locator(".message-tokens")).to_be_visible()
    first = int(total.text_content().split()[0].replace(",", ""))
    send(page, "And once more")
    page.wait_for_function(
        "n => parseInt(document.querySelector('#token-total').textContent.replace(/,/g, '')) > n",
        arg=first,
    )
    assert page.js_errors == []
