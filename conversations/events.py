"""Channel-layer groups and the events published to them, sent only after commit.

Payloads are JSON primitives (ids, text) so the in-memory layer and Redis behave alike.
"""

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction


def conversation_group(conversation_public_id: str) -> str:
    return f"conversation.{conversation_public_id}"


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def publish(group: str, event: dict) -> None:
    """Send an event to a group now (call from sync code outside a transaction)."""
    async_to_sync(get_channel_layer().group_send)(group, event)


def publish_on_commit(group: str, event: dict) -> None:
    """Send an event to a group once the current transaction commits."""
    transaction.on_commit(lambda: publish(group, event))


def sidebar_changed(*, user_id: int, conversation_public_id: str, action: str) -> None:
    """Tell every tab of the user that a sidebar row changed (after commit)."""
    publish_on_commit(
        user_group(user_id),
        {
            "type": "sidebar.changed",
            "conversation_id": conversation_public_id,
            "action": action,
        },
    )
