"""Generated values (NUL, controls, surrogates, huge, any unicode) posted to every browser form
answer below 500."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conversations.models import Message
from tests.factories import ConversationFactory
from tests.ui.conftest import HTMX

EXAMPLES = 30
TEXT = st.one_of(
    st.text(max_size=200),
    st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=50),
    st.sampled_from(["\x00", "a\x00b", "\ud800", "x" * 50_000, "9999-12-31", "", " "]),
)
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _settle():
    Message.objects.filter(status=Message.Status.IN_PROGRESS).update(
        status=Message.Status.COMPLETED
    )


@pytest.fixture(autouse=True)
def _no_limits(settings):
    settings.GENERATION_RATE = "off"
    settings.API_WRITE_RATE = "off"


@pytest.fixture
def conversation(owner):
    return ConversationFactory(owner=owner, title="Fuzz")


def _safe(value: str) -> str:
    # The test client encodes form data as UTF-8; a lone surrogate goes as the replacement.
    return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


@FUZZ
@given(content=TEXT)
def test_send_form(owner_client, conversation, content):
    _settle()
    url = f"/c/{conversation.public_id}/messages/"
    assert owner_client.post(url, {"content": _safe(content)}, headers=HTMX).status_code < 500


@FUZZ
@given(content=TEXT)
def test_new_conversation_form(owner_client, content):
    assert owner_client.post("/send/", {"content": _safe(content)}).status_code < 500


@FUZZ
@given(title=TEXT)
def test_rename_form(owner_client, conversation, title):
    url = f"/c/{conversation.public_id}/rename/"
    assert owner_client.post(url, {"title": _safe(title)}, headers=HTMX).status_code < 500


@FUZZ
@given(q=TEXT, start=TEXT, end=TEXT)
def test_search_form(owner_client, q, start, end):
    params = {"q": _safe(q)[:2000], "from": _safe(start)[:100], "to": _safe(end)[:100]}
    assert owner_client.get("/search/", params).status_code < 500


@FUZZ
@given(title=TEXT, description=TEXT, instructions=TEXT)
def test_project_create_form(owner_client, title, description, instructions):
    data = {
        "title": _safe(title),
        "description": _safe(description),
        "instructions": _safe(instructions),
    }
    assert owner_client.post("/projects/new/", data).status_code < 500


@FUZZ
@given(expiry=st.one_of(st.sampled_from(["never", "1h", "date"]), TEXT), day=TEXT)
def test_share_create_form(owner_client, conversation, expiry, day):
    data = {"expiry": _safe(expiry), "expires_on": _safe(day)[:100]}
    url = f"/c/{conversation.public_id}/share/"
    assert owner_client.post(url, data, headers=HTMX).status_code < 500
