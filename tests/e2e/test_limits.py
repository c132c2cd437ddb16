"""A browser action over the generation limit: the refusal shows in place, nothing typed is lost."""

from playwright.sync_api import expect

from tests.browser import both_sizes
from tests.conftest import wait_for_a_fresh_rate_window
from tests.e2e.test_chat_flow import REPLY, send


def spend_generation_limit(page) -> int:
    """Use up this minute's sends (GENERATION_RATE, 20/min by default) as another tab would."""
    action = page.locator("form#composer").get_attribute("action")
    token = page.locator("#composer input[name=csrfmiddlewaretoken]").first.input_value()
    for spent in range(1, 60):
        # Each counts against the limit before anything else is checked (a busy conversation
        # answers 409, an empty message 400); the first refused one is the 429.
        status = page.request.post(
            action, form={"content": ""}, headers={"X-CSRFToken": token}
        ).status
        if status == 429:
            return spent
    raise AssertionError("the generation limit never refused a send")


@both_sizes
def test_a_send_over_the_limit_is_refused_in_place_keeping_the_text(
    signed_in_page, console_problems, size
):
    # The 429s are provoked on purpose; the browser and htmx both log them.
    console_problems.allow(r"status of 429", r"Error Code 429 from /")
    page = signed_in_page
    page.set_viewport_size(size)
    # One minute's allowance is spent, then the next send must meet the refusal.
    wait_for_a_fresh_rate_window(30)
    send(page, "The one reply this test sends")
    assert spend_generation_limit(page) <= 20

    box = page.get_by_role("textbox", name="Message")
    box.fill("A second question, typed with care")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.locator("#composer")).to_contain_text("You are sending too fast")
    expect(box).to_have_value("A second question, typed with care")
    expect(page.locator(REPLY)).to_have_count(1)

    # Regenerate counts against the same limit and is refused in the same place.
    page.locator(REPLY).last.hover()
    page.locator(REPLY).last.get_by_role("button", name="Regenerate").click()
    expect(page.locator("#composer")).to_contain_text("You are sending too fast")
    expect(page.locator(REPLY)).to_have_count(1)
    assert page.js_errors == []
