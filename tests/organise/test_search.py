from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from conversations.models import Message
from organise.search import START, Segment, conversation_search, fts5_query, segments
from tests.factories import ConversationFactory, MessageFactory, ProjectFactory


def _search(user, query, **filters):
    return conversation_search(user=user, query=query, **filters)


@pytest.mark.django_db(transaction=True)
def test_search_finds_message_written_in_the_same_transaction(owner):
    conversation = ConversationFactory(owner=owner, title="Groceries")
    with transaction.atomic():
        message = MessageFactory(conversation=conversation, content="Buy saffron and lemons")
        results = _search(owner, "saffron")
        assert [r.message_public_id for r in results] == [message.public_id]


def test_search_follows_edits_and_deletes(owner):
    conversation = ConversationFactory(owner=owner, title="Notes")
    message = MessageFactory(conversation=conversation, content="the word is pineapple")
    assert _search(owner, "pineapple")
    # The engine flushes partial text with an UPDATE; the index follows it.
    Message.objects.filter(pk=message.pk).update(content="the word is mango")
    assert _search(owner, "pineapple") == []
    assert [r.message_public_id for r in _search(owner, "mango")] == [message.public_id]
    conversation.delete()
    assert _search(owner, "mango") == []


def test_search_never_returns_another_users_conversations(owner, outsider):
    theirs = ConversationFactory(owner=outsider, title="Secret plans")
    MessageFactory(conversation=theirs, content="the secret plans are here")
    mine = ConversationFactory(owner=owner, title="Holiday")
    MessageFactory(conversation=mine, content="no plans yet")
    results = _search(owner, "plans")
    assert [r.conversation.pk for r in results] == [mine.pk]
    assert _search(owner, "secret") == []


def test_search_ranks_better_matches_first_and_returns_best_message(owner):
    weak = ConversationFactory(owner=owner, title="Misc")
    MessageFactory(
        conversation=weak, content="We once talked about a kettle, and then other things."
    )
    strong = ConversationFactory(owner=owner, title="Kettle repair")
    MessageFactory(conversation=strong, content="Nothing relevant here.")
    best = MessageFactory(conversation=strong, content="The kettle is broken: descale the kettle.")
    results = _search(owner, "kettle")
    assert [r.conversation.pk for r in results] == [strong.pk, weak.pk]
    assert results[0].message_public_id == best.public_id
    assert results[0].rank > results[1].rank


def test_search_matches_title_only_conversations(owner):
    conversation = ConversationFactory(owner=owner, title="Trip to Lisbon", preview="Plan it")
    MessageFactory(conversation=conversation, content="Where should we stay?")
    [result] = _search(owner, "lisbon")
    assert result.message_public_id is None
    assert Segment("Lisbon", True) in result.title
    assert result.snippet == [Segment("Plan it", False)]


def test_search_snippet_keeps_markup_as_text_segments(owner):
    conversation = ConversationFactory(owner=owner)
    MessageFactory(
        conversation=conversation,
        content='<script>alert("x")</script> the zucchini recipe & <b>bold</b>',
    )
    [result] = _search(owner, "zucchini")
    highlighted = [s.text for s in result.snippet if s.highlighted]
    assert [h.lower() for h in highlighted] == ["zucchini"]
    plain = "".join(s.text for s in result.snippet)
    # Markup is returned verbatim as text for the template to escape; markers never leak.
    assert "<script>" in plain or "<b>" in plain
    assert START not in plain


def test_search_filters_by_project_archived_pinned_and_dates(owner):
    project = ProjectFactory(owner=owner)
    now = timezone.now()
    in_project = ConversationFactory(owner=owner, project=project, updated_at=now)
    archived = ConversationFactory(owner=owner, archived_at=now, updated_at=now)
    pinned = ConversationFactory(owner=owner, pinned_at=now, updated_at=now)
    old = ConversationFactory(owner=owner, updated_at=now - timedelta(days=400))
    for conversation in (in_project, archived, pinned, old):
        MessageFactory(conversation=conversation, content="walrus facts")

    def found(**filters):
        return {r.conversation.pk for r in _search(owner, "walrus", **filters)}

    assert found() == {in_project.pk, archived.pk, pinned.pk, old.pk}
    assert found(project=project) == {in_project.pk}
    assert found(archived=True) == {archived.pk}
    assert found(archived=False) == {in_project.pk, pinned.pk, old.pk}
    assert found(pinned=True) == {pinned.pk}
    assert found(date_to=now - timedelta(days=30)) == {old.pk}
    assert found(date_from=now - timedelta(days=1)) == {in_project.pk, archived.pk, pinned.pk}


def test_search_understands_phrases_negation_and_stemming(owner):
    a = ConversationFactory(owner=owner)
    MessageFactory(conversation=a, content="red apples are running late")
    b = ConversationFactory(owner=owner)
    MessageFactory(conversation=b, content="apples red and green")
    assert {r.conversation.pk for r in _search(owner, "apple")} == {a.pk, b.pk}
    assert {r.conversation.pk for r in _search(owner, '"red apples"')} == {a.pk}
    assert {r.conversation.pk for r in _search(owner, "apples -green")} == {a.pk}
    assert {r.conversation.pk for r in _search(owner, "run")} == {a.pk}


def test_search_with_unicode_and_hostile_syntax_does_not_fail(owner):
    conversation = ConversationFactory(owner=owner)
    MessageFactory(conversation=conversation, content="Café crème — naïve résumé 日本語")
    assert _search(owner, "crème")
    for query in ['"', "AND OR NOT", "(", "*", "col:umn", "NEAR(", "''", "-", START]:
        assert isinstance(_search(owner, query), list)


def test_search_query_count_does_not_grow_with_results(owner, django_assert_max_num_queries):
    for i in range(15):
        conversation = ConversationFactory(owner=owner, title=f"Otter {i}")
        MessageFactory(conversation=conversation, content=f"otter number {i}")
    # PostgreSQL: ranked hits with snippets, conversations. SQLite: ranked hits, message
    # snippets, title highlights, conversations.
    with django_assert_max_num_queries(4):
        results = _search(owner, "otter")
    assert len(results) == 15


def test_fts5_query_quotes_every_term():
    assert fts5_query('a "b c" -d x OR y') == '"a" AND "b c" AND ("x" OR "y") NOT "d"'
    assert fts5_query('say "hi""') == '"say" AND "hi"'
    assert fts5_query("-only") == ""


def test_segments_split_on_markers():
    assert segments(f"a {START}b{'\ue001'} c") == [
        Segment("a ", False),
        Segment("b", True),
        Segment(" c", False),
    ]


def test_search_ranks_only_the_newest_candidate_messages(owner, monkeypatch):
    monkeypatch.setattr("organise.search.CANDIDATES", 2)
    conversations = [ConversationFactory(owner=owner, title=f"Zoo {i}") for i in range(3)]
    for conversation in conversations:
        MessageFactory(conversation=conversation, content="a lemur appears")
    found = {r.conversation.pk for r in _search(owner, "lemur")}
    assert found == {conversations[1].pk, conversations[2].pk}
    # Titles are searched in full whatever the cap.
    assert {r.conversation.pk for r in _search(owner, "zoo")} == {c.pk for c in conversations}
