"""Locked and closed conversations as the ChatKit guide defines them."""

import pytest

from conversations.models import Conversation

pytestmark = pytest.mark.django_db


def test_locked_keeps_a_disabled_composer_whose_placeholder_is_the_reason(
    owner_client, conversation
):
    Conversation.objects.filter(pk=conversation.pk).update(
        status="locked", status_reason="Escalated to support."
    )
    html = owner_client.get(f"/c/{conversation.public_id}/").content.decode()
    assert 'placeholder="Escalated to support."' in html
    assert "data-composer-input disabled" in html
    assert "Enter to send" not in html
    assert "data-composer-banner" not in html


def test_closed_replaces_the_composer_with_a_banner(owner_client, conversation):
    Conversation.objects.filter(pk=conversation.pk).update(status="closed", status_reason="")
    html = owner_client.get(f"/c/{conversation.public_id}/").content.decode()
    banner = html.split("data-composer-banner", 1)[1].split("</div>", 1)[0]
    assert "This conversation is closed." in banner
    assert "It no longer accepts new messages." in banner
    assert '<div class="composer-box" hidden>' in html
    assert "Enter to send" not in html


def test_active_composer_keeps_its_hint(owner_client, conversation):
    html = owner_client.get(f"/c/{conversation.public_id}/").content.decode()
    assert 'placeholder="Message the assistant"' in html
    assert "Enter to send" in html
