"""The admin's feedback: a rating filter on messages and good/bad counts per model."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from conversations.models import Message
from tests.factories import ConversationFactory, MessageFactory

pytestmark = pytest.mark.django_db

URL = reverse("admin:conversations_message_changelist")


def rated(owner, *ratings: tuple[str, str, str]) -> list[Message]:
    """Create one reply per (model, rating, comment); rating "" leaves it unrated."""
    conversation = ConversationFactory(owner=owner)
    replies = []
    for model, rating, comment in ratings:
        replies.append(
            MessageFactory(
                conversation=conversation,
                role="assistant",
                model=model,
                feedback_rating=rating,
                feedback_comment=comment,
            )
        )
    return replies


def listed(response) -> set[str]:
    return set(re.findall(r"msg_[0-9a-f]+", response.content.decode()))


def counts(response) -> list[tuple[str, int, int]]:
    return [(r["model"], r["up"], r["down"]) for r in response.context["feedback_by_model"]]


@pytest.fixture
def replies(owner):
    return rated(
        owner,
        ("small", "up", ""),
        ("small", "up", ""),
        ("small", "down", "Wrong."),
        ("large", "down", ""),
        ("large", "", ""),
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [("up", [0, 1]), ("down", [2, 3]), ("any", [0, 1, 2, 3]), ("comment", [2]), ("none", [4])],
)
def test_filter_by_rating(staff_client, replies, value, expected):
    response = staff_client.get(URL, {"feedback": value})
    assert listed(response) == {replies[i].public_id for i in expected}


def test_counts_per_model_follow_the_filters(staff_client, replies):
    response = staff_client.get(URL)
    assert counts(response) == [("large", 0, 1), ("small", 2, 1)]
    html = response.content.decode()
    assert "Feedback by model" in html and "67%" in html
    down = staff_client.get(URL, {"feedback": "down"})
    assert counts(down) == [("large", 0, 1), ("small", 0, 1)]
    assert "(filtered)" in down.content.decode()


def test_counts_cost_one_query_however_many_models(staff_client, owner, replies):
    rated(owner, *[(f"model-{i}", "up", "") for i in range(30)])
    # 5 queries: session, staff user, the bounded count, one page of messages, the per-model
    # counts. On PostgreSQL one more reads the planner's row estimate first; when an earlier
    # test's ANALYZE left it above 10,000 the estimate stands in for the bounded count.
    with CaptureQueriesContext(connection) as captured:
        response = staff_client.get(URL)
    estimates = [q for q in captured.captured_queries if "pg_class" in q["sql"]]
    assert len(estimates) == (1 if connection.vendor == "postgresql" else 0)
    others = len(captured.captured_queries) - len(estimates)
    assert others == 5 or (estimates and others == 4), others
    assert sum("GROUP BY" in q["sql"] for q in captured.captured_queries) == 1
    assert len(counts(response)) == 32
