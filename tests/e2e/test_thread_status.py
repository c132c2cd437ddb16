"""Locked and closed, live: a moderator acts in the admin and every open tab changes at once."""

import re
import secrets

from playwright.sync_api import expect

from tests.browser import PASSWORD, PHONE
from tests.e2e.test_chat_flow import send


def moderate(admin, public_id: str, action: str, reason: str) -> None:
    """Apply a moderation action with a reason to one conversation, from the admin list."""
    admin.goto("/admin/conversations/conversation/")
    row = admin.locator("#result_list tbody tr").filter(has_text=public_id)
    row.locator("input[name=_selected_action]").check()
    admin.locator("select[name=action]").select_option(label=action)
    admin.get_by_role("button", name="Run").or_(admin.get_by_role("button", name="Go")).click()
    admin.get_by_label("Reason").fill(reason)
    admin.locator("input[name=apply]").click()
    expect(admin.locator(".messagelist")).to_contain_text("conversation(s)")


def test_second_tab_sees_a_lock_then_a_close_live(signed_in_page, context, browser, e2e_server):
    page = signed_in_page
    send(page, "Plan a moderated trip")
    page.wait_for_url(re.compile(r"/c/conv_[0-9a-f]+/$"))
    public_id = re.search(r"/c/(conv_[0-9a-f]+)/$", page.url).group(1)
    second = context.new_page()
    second.set_viewport_size(PHONE)  # the second tab is a phone: the composer's states there too
    second.goto(page.url)
    tabs = [page, second]
    for tab in tabs:
        expect(tab.get_by_role("textbox", name="Message")).to_be_enabled()

    staff = f"staff{secrets.token_hex(4)}"
    e2e_server.shell(
        "from django.contrib.auth import get_user_model; "
        f"get_user_model().objects.create_superuser({staff!r}, '', {PASSWORD!r})"
    )
    admin_context = browser.new_context(base_url=e2e_server.url)
    admin = admin_context.new_page()
    admin.goto("/admin/login/")
    admin.get_by_label("Username").fill(staff)
    admin.get_by_label("Password").fill(PASSWORD)
    admin.get_by_role("button", name="Log in").click()

    moderate(admin, public_id, "Lock… (with reason)", "Escalated to support.")
    for tab in tabs:
        box = tab.get_by_role("textbox", name="Message")
        expect(box).to_be_disabled()
        expect(box).to_have_attribute("placeholder", "Escalated to support.")
        expect(tab.get_by_text("Enter to send")).to_have_count(0)

    moderate(admin, public_id, "Close… (with reason)", "Resolved.")
    for tab in tabs:
        banner = tab.locator("[data-composer-banner]")
        expect(banner).to_be_visible()
        expect(banner).to_contain_text("This conversation is closed.")
        expect(banner).to_contain_text("Resolved.")
        expect(tab.get_by_role("textbox", name="Message")).to_be_hidden()

    moderate(admin, public_id, "Reopen…", "")
    for tab in tabs:
        expect(tab.get_by_role("textbox", name="Message")).to_be_enabled()
    admin_context.close()
    assert page.js_errors == []
