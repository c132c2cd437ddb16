import importlib
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from conversations.fulltext import PairHits
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
    # PostgreSQL: ranked hits with snippets, conversations. SQLite: who wrote the newest
    # messages (the owner term or not), ranked hits with their highlighted texts,
    # conversations.
    with django_assert_max_num_queries(3):
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
    monkeypatch.setattr("organise.search.CANDIDATES_PER_RESULT", 1)
    # The oldest title matches best: only a search that ranks every title finds it.
    titles = ["Zoo zoo zoo", "Zoo 1", "Zoo 2"]
    conversations = [ConversationFactory(owner=owner, title=title) for title in titles]
    for conversation in conversations:
        MessageFactory(conversation=conversation, content="a lemur appears")
    # Ten candidates a result by default; one here, so two results rank the newest two.
    found = {r.conversation.pk for r in _search(owner, "lemur", limit=2)}
    assert found == {conversations[1].pk, conversations[2].pk}
    assert len(_search(owner, "lemur", limit=3)) == 3
    # Titles too: the newest (SQLite: created; PostgreSQL: active), as many as messages.
    found = {r.conversation.pk for r in _search(owner, "zoo", limit=2)}
    assert found == {conversations[1].pk, conversations[2].pk}
    found = {r.conversation.pk for r in _search(owner, "zoo", limit=3)}
    assert found == {c.pk for c in conversations}


def test_a_phrase_ranks_only_its_newest_matches(owner, monkeypatch):
    """A phrase's candidates are its newest matches (PostgreSQL: pair hits newest first)."""
    monkeypatch.setattr("organise.search.CANDIDATES_PER_RESULT", 1)
    conversations = [ConversationFactory(owner=owner, title=f"Zoo {i}") for i in range(4)]
    for conversation in conversations:
        MessageFactory(conversation=conversation, content="the red panda climbs")
    # Newer still, the words apart: not the phrase, so not a candidate.
    MessageFactory(conversation=conversations[0], content="a panda that is red")
    found = {r.conversation.pk for r in _search(owner, '"red panda"', limit=2)}
    assert found == {conversations[2].pk, conversations[3].pk}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's GIN index")
def test_candidates_read_the_owner_column_of_the_word_index(owner):
    """The owner reaches msg_owner_search_idx as a bigint (btree_gin has no int4 = int8).

    Without the cast the index was read by the words alone, every owner's matches, and
    ANDed with the owner's btree afterwards.
    """
    MessageFactory(conversation=ConversationFactory(owner=owner), content="a quokka smiles")
    with CaptureQueriesContext(connection) as queries:
        assert _search(owner, "quokka")
    (sql,) = [q["sql"] for q in queries.captured_queries if "candidates AS" in q["sql"]]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")  # no walk of the newest rows
        # Rolled back with the test: neither the owner's btree nor the pair index's owner.
        cursor.execute("DROP INDEX msg_owner_recent_idx, msg_pair_keys_idx")
        cursor.execute("EXPLAIN " + sql.replace("%", "%%"))
        plan = [row[0] for row in cursor.fetchall()]
    conditions = [line for line in plan if "Index Cond" in line and "search_vector @@" in line]
    assert conditions and "search_owner_id" in conditions[0], "\n".join(plan)


PAIRS_MIGRATION = "conversations.migrations.0011_sqlite_phrase_pairs"


def _fts_consistent(cursor) -> None:
    """The indexes hold exactly what their tables do (raises or fails if not).

    Titles: FTS5's own check of an external-content index against its table. Messages: the
    pairs are the index's alone (migration 0011), so FTS5 checks its structure, and every
    token at every place must be what a fresh fill of the messages indexes.
    """
    table = "conversations_conversation_fts"
    cursor.execute(f"INSERT INTO {table}({table}, rank) VALUES ('integrity-check', 1)")
    table = "conversations_message_fts"
    cursor.execute(f"INSERT INTO {table}({table}) VALUES ('integrity-check')")
    tokenizer = importlib.import_module(PAIRS_MIGRATION).TOKENIZER
    cursor.execute(
        "CREATE VIRTUAL TABLE temp.fresh USING fts5(content, search_owner_id, search_pairs, "
        f"tokenize='{tokenizer}')"
    )
    importlib.import_module(PAIRS_MIGRATION).fill(cursor, into="temp.fresh", batch=2)
    instances = []
    for schema, index in (("main", table), ("temp", "fresh")):
        cursor.execute(
            f"CREATE VIRTUAL TABLE temp.{index}_i USING fts5vocab({schema}, {index}, instance)"
        )
        cursor.execute(f"SELECT term, doc, col, offset FROM temp.{index}_i ORDER BY 1, 2, 3, 4")
        instances.append(cursor.fetchall())
    for name in ("fresh", f"{table}_i", "fresh_i"):
        cursor.execute(f"DROP TABLE temp.{name}")
    assert instances[0] == instances[1]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's FTS5 index")
def test_sqlite_index_holds_each_rows_owner_through_every_write(owner, outsider):
    """Migration 0006: the owner is indexed beside the text, and stays right on every write.

    A Django rebuild of the message table (some AlterField operations on SQLite) would drop
    the column and the triggers: this fails then, and the migration's statements must run
    again after it.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pragma_table_info('conversations_message')")
        assert "search_owner_id" in {row[0] for row in cursor.fetchall()}
        cursor.execute("SELECT name FROM pragma_table_info('conversations_message_fts')")
        assert [row[0] for row in cursor.fetchall()] == [
            "content",
            "search_owner_id",
            "search_pairs",
        ]
    mine = ConversationFactory(owner=owner, title="Saffron")
    created = MessageFactory(conversation=mine, content="saffron from the market")
    bulk = Message.objects.bulk_create(
        [Message(conversation=mine, role="user", content=f"saffron {i}") for i in range(3)]
    )
    theirs = ConversationFactory(owner=outsider, title="Saffron too")
    MessageFactory.create_batch(5, conversation=theirs, content="saffron, saffron")
    created.content = "saffron and a full save"
    created.save()  # every column written: the owner, which Django does not know, stays
    rows = Message.objects.filter(conversation=mine).values_list("pk", flat=True)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT search_owner_id FROM conversations_message "
            f"WHERE id IN ({','.join(map(str, rows))})"
        )
        assert cursor.fetchall() == [(owner.pk,)]
        cursor.execute(
            "SELECT rowid FROM conversations_message_fts WHERE conversations_message_fts "
            "MATCH %s ORDER BY rowid",
            [f"search_owner_id : {owner.pk} AND content : saffron"],
        )
        assert [row[0] for row in cursor.fetchall()] == sorted([created.pk, *(m.pk for m in bulk)])
        _fts_consistent(cursor)
    found = _search(owner, "saffron")
    assert [r.conversation.public_id for r in found] == [mine.public_id]
    theirs.delete()  # the messages go by cascade, after their conversation row
    mine.delete()
    with connection.cursor() as cursor:
        _fts_consistent(cursor)
        cursor.execute(
            "SELECT count(*) FROM conversations_message_fts WHERE conversations_message_fts "
            "MATCH 'saffron'"
        )
        assert cursor.fetchone() == (0,)


def test_search_of_a_word_only_in_the_owner_column_finds_nothing(owner):
    """The owner's id is indexed, but the user's words only ever match text and titles."""
    conversation = ConversationFactory(owner=owner, title="Numbers")
    MessageFactory(conversation=conversation, content="no digits here")
    assert _search(owner, str(owner.pk)) == []
    assert _search(owner, f"digits OR {owner.pk}")


PHRASE_TEXTS = [
    "open the file and write a test",
    "open file now",
    "the file is open",
    "write-ahead log: write the test first",
    "search index search index rebuilt",
    "index search",
]
PHRASE_QUERIES = [
    '"open file"',  # "open the file" holds the pair, not the phrase
    '"open the file"',
    '"write test"',
    '"search index"',
    '"index search" rebuilt',
    '"write-ahead log"',
    '"the"',  # stop words only: no pair, nothing to narrow
    '"file"',
    '-"open file" test',
    '"open file" OR "search index"',
]


def _phrase_world(owner):
    chats = []
    for text in PHRASE_TEXTS:
        chat = ConversationFactory(owner=owner, title="Untitled")
        MessageFactory(conversation=chat, content=text)
        chats.append(chat.pk)
    return chats


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's pair index")
@pytest.mark.parametrize("query", PHRASE_QUERIES)
def test_phrase_pairs_narrow_candidates_without_changing_results(owner, monkeypatch, query):
    from organise import search

    _phrase_world(owner)
    with_pairs = {r.conversation.pk for r in _search(owner, query)}
    monkeypatch.setattr(search, "pair_hits", lambda text, **owner: PairHits())
    assert {r.conversation.pk for r in _search(owner, query)} == with_pairs
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM conversations_message WHERE search_owner_id = %s "
            "AND search_vector @@ websearch_to_tsquery('english', %s)",
            [owner.pk, query],
        )
        assert cursor.fetchone()[0] == len(with_pairs)  # one message per conversation


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's pair index")
def test_a_phrase_takes_the_pair_index(owner):
    _phrase_world(owner)
    with connection.cursor() as cursor:
        cursor.execute("SELECT conversations_search_pairs(to_tsvector('english', %s))", [
            "open the file and write a test"
        ])  # fmt: skip
        # Stop words between two words are kept as their distance, as the phrase's tsquery
        # keeps it ('open' <2> 'file'): "open file" is only ever the pair of neighbours.
        assert sorted(cursor.fetchone()[0]) == ["file <2> write", "open <2> file", "write <2> test"]
        # The search's own expressions are the index's (a tiny table plans a scan otherwise):
        # a user's phrase by its owner's keys, any owner's (the admin) by the plain pairs.
        cursor.execute("SET LOCAL enable_seqscan = off")
        plans = []
        for keys, args in [
            ("conversations_owner_phrase_pairs(%s::bigint, %s)", [owner.pk, ["open file"]]),
            ("conversations_phrase_pairs(%s)", [["open file"]]),
        ]:
            cursor.execute(
                "EXPLAIN SELECT id FROM conversations_message WHERE "
                f"conversations_search_pair_keys(search_owner_id, search_vector) @> {keys}",
                args,
            )
            plans.append("\n".join(row[0] for row in cursor.fetchall()))
    assert all("msg_pair_keys_idx" in plan for plan in plans), plans


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's pair index")
def test_a_phrases_candidates_are_read_by_their_pair_hits_ids(owner):
    """The rows a phrase rechecks are its pair hits, each read by its id, whatever the plan.

    At a million messages the planner guessed the owner's pair hits at 3,641 rows (127
    real) and joined them by hash to a bitmap of every row of the user's holding both words
    (4,819 rows on 4,262 pages: 37 of the search's 44 ms). Planning that join is made
    cheaper here (no nested loops) so the test sees the choice it would make.
    """
    _phrase_world(owner)
    with CaptureQueriesContext(connection) as queries:
        _search(owner, '"open file"')
    search_sql = next(q["sql"] for q in queries if "pair_hits" in q["sql"])
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_nestloop = off")
        cursor.execute("SET LOCAL enable_seqscan = off")  # a tiny table plans a scan otherwise
        cursor.execute("EXPLAIN " + search_sql)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "msg_pair_keys_idx" in plan, plan
    # Each pair hit's row by its primary key (not a merge or hash join to another scan).
    assert "Index Cond: (id = pair_hits.id)" in plan, plan
    assert "msg_owner_search_idx" not in plan, plan


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's pair index")
def test_a_rows_pair_keys_are_its_pairs_and_its_owners(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conversations_search_pair_keys(7, to_tsvector('english', 'open the file')), "
            "conversations_search_pair_keys(NULL, to_tsvector('english', 'open the file')), "
            "conversations_owner_phrase_pairs(7, ARRAY['open the file', 'the']), "
            "conversations_owner_phrase_pairs(7, ARRAY['the'])"
        )
        keys, ownerless, query_keys, no_pairs = cursor.fetchone()
    assert sorted(keys) == ["7:open <2> file", "open <2> file"]
    assert ownerless == ["open <2> file"]  # a row without an owner keeps its plain pairs
    assert query_keys == ["7:open <2> file"] and no_pairs == []


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's pair index")
def test_a_users_pair_hits_are_their_own_rows_and_the_admins_everyones(owner, outsider):
    """Migration 0012: a user's phrase reads only their keys; an admin's, every owner's pairs."""
    from conversations.fulltext import conversation_ids_matching, pair_hits

    mine, theirs = _phrase_world(owner), _phrase_world(outsider)

    def hits(owner_id):
        pairs = pair_hits('"open file"', owner_id=owner_id)
        with connection.cursor() as cursor:
            cursor.execute(
                f"WITH {pairs.cte} SELECT m.conversation_id FROM {pairs.source}", pairs.args
            )
            return {row[0] for row in cursor.fetchall()}

    # "open file now" holds the phrase; "the file is open" neither the phrase nor its pair.
    assert hits(owner.pk) == {mine[1]} and hits(outsider.pk) == {theirs[1]}
    assert hits(None) == {mine[1], theirs[1]}
    assert set(conversation_ids_matching(query='"open file"', limit=10)) == {mine[1], theirs[1]}
    assert [r.conversation.pk for r in _search(outsider, '"open file"')] == [theirs[1]]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's pair index")
@pytest.mark.parametrize(
    ("phrase", "texts"),
    [
        ("open file", ["open file now"]),
        ("open the file", ["open the file and write a test"]),
        ("write test", []),  # "write the test", "write a test": the words stand two apart
        ("search index", ["search index search index rebuilt"]),
    ],
)
def test_a_phrases_pair_hits_are_the_rows_whose_words_stand_as_its_do(owner, phrase, texts):
    """Every candidate the pair index gives holds the phrase: none fails its recheck."""
    _phrase_world(owner)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT content FROM conversations_message WHERE "
            "conversations_search_pair_keys(search_owner_id, search_vector) "
            "@> conversations_owner_phrase_pairs(%s::bigint, %s)",
            [owner.pk, [phrase]],
        )
        assert sorted(row[0] for row in cursor.fetchall()) == texts


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's pair index")
def test_the_pair_migrations_reverse_and_apply_again(owner):
    """0012 back to 0007's owner-and-pairs index, 0010 back to plain pairs, and forward."""
    import importlib

    gaps = importlib.import_module("conversations.migrations.0010_phrase_pair_gaps")
    keys = importlib.import_module("conversations.migrations.0012_owner_pair_keys")
    chats = _phrase_world(owner)

    def pairs():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT conversations_search_pairs(to_tsvector('english', 'open the file'))"
            )
            return cursor.fetchone()[0]

    def indexes():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'conversations_message' "
                "AND indexname LIKE '%%pair%%'"
            )
            return [row[0] for row in cursor.fetchall()]

    with connection.cursor() as cursor:  # the rows' deferred checks, or no CREATE INDEX
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    with connection.schema_editor() as editor:
        keys.backward(None, editor)
        assert indexes() == ["msg_owner_pairs_idx"]
        gaps.backward(None, editor)
        assert pairs() == ["open file"]
        gaps.forward(None, editor)
        assert pairs() == ["open <2> file"]
        keys.forward(None, editor)
    assert indexes() == ["msg_pair_keys_idx"]
    assert [r.conversation.pk for r in _search(owner, '"open the file"')] == [chats[0]]


def test_required_phrases_are_the_positive_ones_of_an_and_query():
    from conversations.fulltext import required_phrases

    assert required_phrases('"a b" c -"d e" "f"') == ["a b", "f"]
    assert required_phrases('"a b" or c') == []
    assert required_phrases('"a b" OR "c d"') == []
    assert required_phrases('"or a" b') == ["or a"]  # inside quotes, a word
    assert required_phrases("color order") == []


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's owner term")
def test_who_wrote_the_newest_rows_decides_the_owner_term_and_never_the_results(
    owner, outsider, monkeypatch
):
    """The owner term narrows a user's candidates unless they wrote most of the newest rows.

    Both ways give the same results: the candidates' join keeps the owner's rows alone.
    """
    monkeypatch.setattr("organise.search.RECENT_SAMPLE", 6)
    mine = ConversationFactory(owner=owner, title="Heron notes")
    MessageFactory(conversation=mine, content="a grey heron fishing")
    theirs = ConversationFactory.create_batch(5, owner=outsider, title="Herons")
    for conversation in theirs:
        MessageFactory(conversation=conversation, content="the heron waits")

    def candidates_match(user):
        with CaptureQueriesContext(connection) as queries:
            found = [(r.conversation.pk, r.message_public_id) for r in _search(user, "heron")]
        (sql,) = [q["sql"] for q in queries.captured_queries if "candidates AS" in q["sql"]]
        return found, "search_owner_id :" in sql and "owner_id : " in sql.split("titles AS")[1]

    mine_found, narrowed = candidates_match(owner)
    assert narrowed and [pk for pk, _ in mine_found] == [mine.pk]
    theirs_found, narrowed = candidates_match(outsider)  # 5 of the newest 6 messages
    assert not narrowed and {pk for pk, _ in theirs_found} == {c.pk for c in theirs}
    monkeypatch.setattr("organise.search.BROAD_OWNER_SHARE", 1.0)
    again, narrowed = candidates_match(outsider)
    assert narrowed and again == theirs_found


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's FTS5 title index")
def test_sqlite_title_index_holds_each_owner_and_words_never_match_it(owner, outsider):
    """Migration 0009: titles are indexed with their owner, kept right by every write."""
    from conversations.fulltext import conversation_ids_matching

    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pragma_table_info('conversations_conversation_fts')")
        assert [row[0] for row in cursor.fetchall()] == ["title", "owner_id"]
    mine = ConversationFactory(owner=owner, title="Quince jam")
    ConversationFactory.create_batch(3, owner=outsider, title="Quince tart")
    assert [r.conversation.pk for r in _search(owner, "quince")] == [mine.pk]
    # The owner's id is indexed, but a word of the query only ever matches a title.
    assert _search(owner, str(owner.pk)) == []
    assert _search(outsider, str(outsider.pk)) == []
    assert conversation_ids_matching(query=str(owner.pk), limit=10) == []
    mine.title = "Medlar jam"
    mine.save(update_fields=["title"])
    assert _search(owner, "quince") == []
    assert [r.conversation.pk for r in _search(owner, "medlar")] == [mine.pk]
    mine.delete()
    with connection.cursor() as cursor:
        _fts_consistent(cursor)
        cursor.execute(
            "SELECT count(*) FROM conversations_conversation_fts "
            "WHERE conversations_conversation_fts MATCH %s",
            [f"owner_id : {owner.pk}"],
        )
        assert cursor.fetchone() == (0,)


def test_a_users_ranking_does_not_depend_on_other_users_rows(owner, outsider):
    """Scores use the user's candidates alone: no count of every user's rows (FTS5's bm25)."""
    for text in ("the walrus sleeps", "a walrus, a walrus and a seal", "walrus"):
        MessageFactory(conversation=ConversationFactory(owner=owner), content=text)
    before = [(r.conversation.pk, r.rank) for r in _search(owner, "walrus seal OR sleeps")]
    theirs = ConversationFactory(owner=outsider, title="Walrus")
    MessageFactory.create_batch(10, conversation=theirs, content="walrus seal walrus")
    after = [(r.conversation.pk, r.rank) for r in _search(owner, "walrus seal OR sleeps")]
    assert after == before and len(before) == 2


def test_excerpt_keeps_the_stretch_with_most_highlights_and_closes_cut_phrases():
    from organise.search import STOP, _excerpt

    words = [f"w{i}" for i in range(40)]
    words[30] = f"{START}hit"
    words[31] = f"again{STOP}"
    words[33] = f"{START}more{STOP}"
    excerpt = _excerpt(" ".join(words), size=5)
    assert excerpt == f"… w29 {START}hit again{STOP} w32 {START}more{STOP} …"
    # A window that cuts a highlighted phrase still closes it, or opens it.
    end_cut = _excerpt(f"a b {START}c d e{STOP} f", size=3)
    assert [s.text for s in segments(end_cut) if s.highlighted] == ["c"]
    start_cut = _excerpt(f"{START}a b c{STOP} {START}d{STOP} {START}e{STOP}", size=3)
    assert [s.text for s in segments(start_cut) if s.highlighted] == ["c", "d", "e"]
    assert _excerpt("short text", size=5) == "short text" and _excerpt(None) is None


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's pair column")
@pytest.mark.parametrize("query", PHRASE_QUERIES)
def test_sqlite_phrase_pairs_narrow_candidates_without_changing_results(owner, monkeypatch, query):
    """Migration 0011: a phrase's pair term changes which rows are read, never the results."""
    from conversations import fulltext
    from organise import search

    _phrase_world(owner)
    with_pairs = {r.conversation.pk for r in _search(owner, query)}
    monkeypatch.setattr(search, "sqlite_pairs", lambda cursor, text: "")
    assert {r.conversation.pk for r in _search(owner, query)} == with_pairs
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM conversations_message_fts WHERE conversations_message_fts "
            "MATCH %s",
            [f"content : ({fts5_query(query)})"],
        )
        assert cursor.fetchone()[0] == len(with_pairs)  # one message per conversation
        monkeypatch.undo()
        # A phrase of two words or more is narrowed; one word (or none kept) is not.
        two_words = any(" " in p or "-" in p for p in fulltext.required_phrases(query))
        assert bool(fulltext.sqlite_pairs(cursor, query)) == two_words


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's pair column")
def test_sqlite_query_pairs_are_the_index_pairs_of_the_same_words(owner):
    """The query's stage pairs a phrase as the triggers pair a message: the same tokens."""
    from conversations.fulltext import sqlite_pairs

    text = "Opening the Files, café writes"
    message = MessageFactory(conversation=ConversationFactory(owner=owner), content=text)
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE VIRTUAL TABLE temp.pairs_i USING fts5vocab(main, conversations_message_fts, "
            "instance)"
        )
        cursor.execute("SELECT term FROM temp.pairs_i WHERE doc = %s AND col = 'search_pairs'", [
            message.pk
        ])  # fmt: skip
        indexed = sorted(row[0] for row in cursor.fetchall())
        cursor.execute("DROP TABLE temp.pairs_i")
        term = sqlite_pairs(cursor, f'"{text}"')
        cursor.execute(
            "SELECT count(*) FROM conversations_message_fts WHERE conversations_message_fts "
            "MATCH %s",
            [term],
        )
        assert cursor.fetchone() == (1,)
        cursor.execute("SELECT count(*) FROM conversations_message_stage_tokens")
        assert cursor.fetchone() == (0,)  # the triggers leave the stage empty
    assert len(indexed) == 4  # open the, the file, file cafe, cafe write
    assert term.startswith("search_pairs : (") and term.count('"') == 8
    # An edit indexes the new pairs and takes the old ones out; so does a delete.
    message.content = "nothing alike"
    message.save(update_fields=["content"])
    assert _search(owner, '"opening the files"') == []
    assert _search(owner, '"nothing alike"')
    with connection.cursor() as cursor:
        _fts_consistent(cursor)
    message.delete()
    assert _search(owner, '"nothing alike"') == []
    with connection.cursor() as cursor:
        _fts_consistent(cursor)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's pair column")
def test_the_sqlite_pair_migration_reverses_and_refills(owner):
    class Editor:  # SQLite's schema editor refuses a test's transaction; these are plain SQL
        connection = connection

        def execute(self, sql):
            with connection.cursor() as cursor:
                cursor.execute(sql)

    migration, editor = importlib.import_module(PAIRS_MIGRATION), Editor()
    _phrase_world(owner)
    found = {r.conversation.pk for r in _search(owner, '"open file"')}
    migration.backward(None, editor)
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pragma_table_info('conversations_message_fts')")
        assert [row[0] for row in cursor.fetchall()] == ["content", "search_owner_id"]
    migration.forward(None, editor)
    assert {r.conversation.pk for r in _search(owner, '"open file"')} == found != set()
    with connection.cursor() as cursor:
        _fts_consistent(cursor)
