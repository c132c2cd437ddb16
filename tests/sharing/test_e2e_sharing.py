"""Share, open the link signed out, continue it as someone else, revoke it: in Chromium."""

import json

import pytest

from tests.browser import sign_up

pytestmark = pytest.mark.e2e

SEED = """
import json
from django.contrib.auth import get_user_model
from conversations.models import Conversation, Message
owner = get_user_model().objects.get(username={username!r})
conv = Conversation.objects.create(owner=owner, title="Lisbon plans")
q = Message.objects.create(conversation=conv, role="user", content="Where should I eat?")
a = Message.objects.create(
    conversation=conv, parent=q, role="assistant", model="demo",
    content="Try **Cervejaria Ramiro**.",
)
conv.current_message = a
conv.message_count = 2
conv.preview = q.content
conv.save()
print(json.dumps({{"conversation": conv.public_id}}))
"""


def seed_conversation(e2e_server, username: str) -> str:
    output = e2e_server.shell(SEED.format(username=username))
    return json.loads(output.strip().splitlines()[-1])["conversation"]


def test_share_open_signed_out_continue_and_revoke(browser, e2e_server, context, signed_in_page):
    page = signed_in_page
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    public_id = seed_conversation(e2e_server, page.username)

    # The owner shares the conversation from its menu in the sidebar.
    page.goto(f"/c/{public_id}/")
    page.get_by_label("Options for Lisbon plans").click()
    page.get_by_role("link", name="Share", exact=True).click()
    dialog = page.get_by_role("dialog", name="Share conversation")
    dialog.get_by_label("7 days").check()
    dialog.get_by_role("button", name="Create link").click()
    link_box = dialog.get_by_label("Link")
    link = link_box.input_value()
    assert link.startswith(f"{e2e_server.url}/s/")
    dialog.get_by_role("button", name="Copy link").click()
    assert page.evaluate("navigator.clipboard.readText()") == link
    assert not page.js_errors

    # Anyone with the link reads it in a fresh browser, signed out.
    stranger = browser.new_context()
    other = browser.new_context(base_url=e2e_server.url)
    try:
        reader = stranger.new_page()
        response = reader.goto(link)
        assert response.status == 200
        assert response.headers["x-robots-tag"] == "noindex, nofollow"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["cache-control"] == "no-store"
        assert reader.get_by_role("heading", name="Lisbon plans").is_visible()
        assert reader.locator("strong", has_text="Cervejaria Ramiro").is_visible()
        assert reader.get_by_role("link", name="Continue this conversation").count() == 0
        assert reader.get_by_role("textbox").count() == 0
        assert page.context.cookies() != stranger.cookies()

        # Someone signed in continues it in their own account.
        viewer = other.new_page()
        sign_up(viewer)
        viewer.goto(link)
        viewer.get_by_role("link", name="Continue this conversation").click()
        viewer.get_by_role("button", name="Continue this conversation").click()
        viewer.wait_for_url("**/c/conv_*/")
        assert f"/c/{public_id}/" not in viewer.url
        assert viewer.locator("strong", has_text="Cervejaria Ramiro").is_visible()
        assert viewer.get_by_role("textbox", name="Message").is_visible()

        # The owner revokes it; the next load of the link is the not-found page.
        page.goto("/shared/")
        row = page.get_by_role("row", name="Lisbon plans")
        # Two views: the signed-out reader and the signed-in viewer.
        assert row.get_by_role("cell", name="2", exact=True).count() == 1
        row.get_by_role("button", name="Revoke link to Lisbon plans").click()
        assert page.get_by_text("revoked").first.is_visible()

        gone = reader.reload()
        assert gone.status == 404
        assert gone.headers["x-robots-tag"] == "noindex, nofollow"
        assert reader.get_by_role("heading", name="This link doesn't work").is_visible()
        assert "Cervejaria" not in reader.content()
    finally:
        stranger.close()
        other.close()
