"""Full-text search over the titles and messages of one user's own conversations.

One selector, two engines: PostgreSQL (stored tsvector columns with GIN indexes,
websearch_to_tsquery, ts_rank, ts_headline) and SQLite (FTS5 external-content tables,
highlight(), snippets cut from it). Both are kept current by database triggers (migration
0002). Snippets come back as segments, (text, highlighted) pairs, so a template escapes
every byte of them.
"""

import re
from dataclasses import dataclass
from datetime import datetime

from django.db import connection

from conversations.fulltext import fts5_query, pair_hits, sqlite_pairs
from conversations.models import Conversation

# Private-use characters mark highlights inside the database's snippet; stripped from input.
START = "\ue000"
STOP = "\ue001"
# PostgreSQL's headline parser drops anything shaped like an HTML tag, so angle brackets
# travel as the small-form variants (U+FE64, U+FE65) and come back as themselves.
SMALL_ANGLES = "\ufe64\ufe65"
_ANGLES_FROM_DB = str.maketrans(SMALL_ANGLES, "<>")
MAX_QUERY_CHARS = 500
MAX_LIMIT = 100
# A title match weighs this much more than a message match.
TITLE_WEIGHT = 2.0
# Ranking reads each candidate's text; it considers the user's newest matching messages, ten
# for each result asked (200 for the page's 20, 1,000 for the API's 100), so a word found in
# 200,000 messages costs about what one found in 200 does. It was 500 whatever the limit:
# a phrase found about 1,370 times in a million messages ranked 500 in 9.2 ms, and found 137
# times in 100,000 ranked them all in 4.8 (1.9x for 10x the history; 200: 1.0x).
CANDIDATES_PER_RESULT = 10
# PostgreSQL plans the candidates as if it needed this many, then reads only its own (a
# WITH query runs only as far as its reader asks). Planned for 500, it chose to walk the
# newest messages for a word found nowhere: every one of a million (2.1 s).
PLANNED_CANDIDATES = 1_000


@dataclass(frozen=True)
class Segment:
    text: str
    highlighted: bool


@dataclass(frozen=True)
class SearchResult:
    conversation: Conversation
    message_public_id: str | None
    rank: float
    title: list[Segment]
    snippet: list[Segment]


def segments(marked: str | None) -> list[Segment]:
    """Split text carrying START/STOP markers into plain and highlighted segments."""
    if not marked:
        return []
    parts = []
    highlighted = False
    for piece in re.split(f"([{START}{STOP}])", marked):
        if piece == START:
            highlighted = True
        elif piece == STOP:
            highlighted = False
        elif piece:
            parts.append(Segment(piece, highlighted))
    return parts


def _clean(query: str) -> str:
    return " ".join(query.replace(START, " ").replace(STOP, " ").split())[:MAX_QUERY_CHARS]


def _filters(
    *, alias: str, project, archived: bool | None, pinned: bool | None, date_from, date_to
) -> tuple[str, list]:
    """Return SQL conditions on the conversation table alias and their parameters."""
    sql, params = [], []
    if project is not None:
        sql.append(f"{alias}.project_id = %s")
        params.append(project.pk)
    if archived is not None:
        sql.append(f"{alias}.archived_at IS {'NOT ' if archived else ''}NULL")
    if pinned is not None:
        sql.append(f"{alias}.pinned_at IS {'NOT ' if pinned else ''}NULL")
    if date_from is not None:
        sql.append(f"{alias}.updated_at >= %s")
        params.append(date_from)
    if date_to is not None:
        sql.append(f"{alias}.updated_at < %s")
        params.append(date_to)
    return "".join(f" AND {condition}" for condition in sql), params


_POSTGRES_SQL = """
WITH q AS (SELECT websearch_to_tsquery('english', %s) AS query),
{pair_hits}
candidates AS MATERIALIZED (
    -- Only the user's own messages: search_owner_id leads both indexes (migration 0003).
    -- It is compared as a bigint, its type: btree_gin has no cross-type operators, and
    -- psycopg sends a small int as int2/int4, which left the GIN index's owner column unused
    -- (every owner's matches of the words, then ANDed with the owner's btree: 45 ms, 19.5
    -- with the cast, for two common words of a user beside another's million messages).
    -- The query is repeated inline (not q.query) so the planner sees how common its words
    -- are: it walks the user's newest messages (owner, id) for common words and the
    -- (owner, vector) GIN index for rare ones. A phrase walks its pair hits newest first
    -- (conversations.fulltext.PairHits), rechecking positions only until it has its
    -- candidates. A candidate's vector comes along, so its row is read once; it is ranked
    -- once it is kept (ranked here, every match of a GIN scan was: 5,879 for 1,000 kept).
    SELECT m.id, m.conversation_id, m.search_vector
    FROM {source} {join}
    WHERE m.search_vector @@ websearch_to_tsquery('english', %s)
        AND m.search_owner_id = %s::bigint
        {filters}
    ORDER BY {order} DESC
    LIMIT %s
),
message_hits AS (
    SELECT DISTINCT ON (conversation_id)
        conversation_id, id AS message_id, ts_rank(search_vector, q.query) AS rank
    FROM (SELECT * FROM candidates LIMIT %s) candidates CROSS JOIN q
    ORDER BY conversation_id, rank DESC, id DESC
),
title_candidates AS MATERIALIZED (
    -- The user's most recently active matching titles, as many as the messages: ranked
    -- every one, a common word's 1,492 titles of a 100k-conversation user took 3.3 ms
    -- against 1.4 for 159 of a 10k one. The (owner, vector) GIN index still reads every
    -- match (1.4 against 0.15 ms there); only the newest are ranked. Planned as the
    -- messages are, so the plan can walk the sidebar's index where that reads less.
    SELECT c.id, c.search_vector
    FROM conversations_conversation c
    WHERE c.search_vector @@ websearch_to_tsquery('english', %s) AND c.owner_id = %s {filters}
    ORDER BY c.updated_at DESC, c.id DESC
    LIMIT %s
),
title_hits AS (
    SELECT t.id AS conversation_id, ts_rank(t.search_vector, q.query) AS rank
    FROM (SELECT * FROM title_candidates LIMIT %s) t CROSS JOIN q
),
ranked AS (
    SELECT COALESCE(mh.conversation_id, th.conversation_id) AS conversation_id,
        mh.message_id,
        COALESCE(mh.rank, 0) + %s * COALESCE(th.rank, 0) AS rank,
        th.conversation_id IS NOT NULL AS title_hit
    FROM message_hits mh FULL OUTER JOIN title_hits th USING (conversation_id)
    ORDER BY rank DESC, conversation_id DESC
    LIMIT %s
)
SELECT r.conversation_id, m.public_id, r.rank,
    CASE WHEN m.id IS NOT NULL THEN ts_headline(
        'english', translate(m.content, %s, %s), q.query, %s
    ) END,
    CASE WHEN r.title_hit THEN ts_headline(
        'english', translate(c.title, %s, %s), q.query, %s
    ) END
FROM ranked r
JOIN conversations_conversation c ON c.id = r.conversation_id
LEFT JOIN conversations_message m ON m.id = r.message_id
CROSS JOIN q
ORDER BY r.rank DESC, r.conversation_id DESC
"""

_MARKERS = f'StartSel="{START}", StopSel="{STOP}"'


def _search_postgres(user, text, filters, limit, candidates):
    conditions, params = filters
    # The conversation is joined only when a filter needs its columns.
    join = "JOIN conversations_conversation c ON c.id = m.conversation_id" if conditions else ""
    # A phrase's candidates: the user's rows holding its word pairs (the pair index), not
    # every row holding its words (2,753 against 61,989 for "search index" at a million),
    # newest first, rechecked until there are enough of them.
    pairs = pair_hits(text, owner_id=user.pk)
    sql = _POSTGRES_SQL.format(
        filters=conditions,
        join=join,
        order=pairs.order,
        source=pairs.source,
        pair_hits=f"{pairs.cte}," if pairs.cte else "",
    )
    # Messages and titles alike: planned for at least PLANNED_CANDIDATES, `candidates` read.
    window = (max(candidates, PLANNED_CANDIDATES), candidates)
    args = [
        text,
        *pairs.args,
        text,
        user.pk,
        *params,
        *window,
        text,
        user.pk,
        *params,
        *window,
        TITLE_WEIGHT,
        limit,
        "<>" + START + STOP,
        SMALL_ANGLES,
        f"{_MARKERS}, MaxWords=35, MinWords=15",
        "<>" + START + STOP,
        SMALL_ANGLES,
        f"{_MARKERS}, HighlightAll=true",
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, args)
        return [
            (conversation_id, public_id, rank, _angles(snippet), _angles(title))
            for conversation_id, public_id, rank, snippet, title in cursor.fetchall()
        ]


def _angles(text: str | None) -> str | None:
    return text.translate(_ANGLES_FROM_DB) if text else text


# Both indexes hold each row's owner beside its text (migrations 0006 and 0009). Candidates:
# the user's newest matching messages, found by `search_owner_id : 7 AND content : (...)`,
# and titles, by `owner_id : 7 AND title : (...)`, so another user's matches are never
# walked (for a user who wrote most of the newest rows, the join's owner check instead:
# see BROAD_OWNER_SHARE).
#
# They are scored without FTS5's bm25: bm25 weighs each query phrase by counting every row
# of the whole index that holds it (every user's), 8-25 ms a query at a million messages,
# growing with other users' data. The score here is BM25's term-frequency part alone, as
# PostgreSQL's ts_rank has no corpus statistics either: how many times the query matches
# the text (the markers highlight() adds, counted from the length they add), saturated
# (K1) and normalized by the text's length against the candidates' average (B). highlight()
# reads only the candidate's own text, and it runs for the kept rows alone (after LIMIT).
# The highlighted texts come back with their scores: a title as the result shows it, a
# message to cut its snippet from (_excerpt).
_SQLITE_SQL = """
WITH candidates AS MATERIALIZED (
    SELECT m.conversation_id AS conversation_id, m.public_id AS message_public_id,
        length(m.content) AS size,
        highlight(conversations_message_fts, 0, %s, %s) AS marked
    FROM conversations_message_fts
    JOIN conversations_message m ON m.id = conversations_message_fts.rowid
    JOIN conversations_conversation c ON c.id = m.conversation_id
    WHERE conversations_message_fts MATCH %s AND c.owner_id = %s {filters}
    ORDER BY conversations_message_fts.rowid DESC
    LIMIT %s
),
titles AS MATERIALIZED (
    SELECT c.id AS conversation_id, length(c.title) AS size,
        highlight(conversations_conversation_fts, 0, %s, %s) AS marked
    FROM conversations_conversation_fts
    JOIN conversations_conversation c ON c.id = conversations_conversation_fts.rowid
    WHERE conversations_conversation_fts MATCH %s AND c.owner_id = %s {filters}
    ORDER BY conversations_conversation_fts.rowid DESC
    LIMIT %s
),
best AS (
    -- SQLite gives the bare columns of the row holding the MAX().
    SELECT conversation_id, message_public_id, marked, MAX({score}) AS score
    FROM (SELECT *, length(marked) - size AS marks FROM candidates),
        (SELECT max(avg(size), 1) AS average FROM candidates)
    GROUP BY conversation_id
),
title_hits AS (
    SELECT conversation_id, marked, {score} AS score
    FROM (SELECT *, length(marked) - size AS marks FROM titles),
        (SELECT max(avg(size), 1) AS average FROM titles)
),
combined AS (
    SELECT conversation_id, message_public_id, marked AS message, score, NULL AS title
    FROM best
    UNION ALL
    SELECT conversation_id, NULL, NULL, %s * score, marked FROM title_hits
)
SELECT conversation_id, MAX(message_public_id), SUM(score) AS rank, MAX(message), MAX(title)
FROM combined GROUP BY conversation_id
ORDER BY rank DESC, conversation_id DESC
LIMIT %s
"""
# BM25's usual constants; each highlighted instance adds one START and one STOP.
K1, B = 1.2, 0.75
_HITS = f"(marks / {float(len(START + STOP))})"
_SCORE = f"{_HITS} * {K1 + 1} / ({_HITS} + {K1} * ({1 - B} + {B} * size / average))"
# Whether the owner term pays depends on who wrote the newest rows, the ones the candidates'
# walk reads first. A user who wrote most of them is matched by the words alone, the owner
# checked on each joined row: intersecting a posting list of most of the index costs more
# than it removes (a phrase of a user with a million of 1.1 million messages: 14-42 ms with
# the owner term, 7.5-14 without). Anyone else gets the owner term, however much of the
# whole index is theirs: a user of 100,000 of 110,000 messages, whose newest 10,000 were
# someone else's, walked all of those without it (12-14 ms against 7-8). The results are
# the same either way.
RECENT_SAMPLE = 1_000
BROAD_OWNER_SHARE = 1 / 2
# A snippet's length in words (FTS5's snippet() was asked for 24 tokens).
SNIPPET_WORDS = 24


def _owner_is_broad(cursor, owner: int) -> bool:
    """Whether the owner wrote more than BROAD_OWNER_SHARE of the newest RECENT_SAMPLE messages."""
    cursor.execute(
        "SELECT count(*) FROM (SELECT search_owner_id FROM conversations_message "
        "ORDER BY id DESC LIMIT %s) WHERE search_owner_id = %s",
        [RECENT_SAMPLE, owner],
    )
    return cursor.fetchone()[0] > RECENT_SAMPLE * BROAD_OWNER_SHARE


def _excerpt(marked: str | None, size: int = SNIPPET_WORDS) -> str | None:
    """The `size` words of a highlighted text that hold the most highlights, as FTS5's snippet().

    snippet() needs a query of its own, matched again on rowids, and FTS5 finds a rowid in
    a posting list by reading it from the start: 15-18 ms for 20 snippets at a million
    messages. The candidates' query already has each text highlighted.
    """
    if marked is None:
        return None
    words = marked.split()
    if len(words) <= size:
        return " ".join(words)
    starts = [START in word for word in words]
    hits = sum(starts[:size])
    best, first = hits, 0
    for i in range(size, len(words)):
        hits += starts[i] - starts[i - size]
        if hits > best:
            best, first = hits, i - size + 1
    excerpt = " ".join(words[first : first + size])
    if excerpt.rfind(START) > excerpt.rfind(STOP):  # a phrase cut at the end
        excerpt += STOP
    stop, start = excerpt.find(STOP), excerpt.find(START)
    if stop != -1 and (start == -1 or stop < start):  # a phrase cut at the start
        excerpt = START + excerpt
    head = " … " if first else ""
    tail = " … " if first + size < len(words) else ""
    return f"{head}{excerpt}{tail}".strip()


def _search_sqlite(user, text, filters, limit, candidates):
    match = fts5_query(text)
    if not match:
        return []
    conditions, params = filters
    sql = _SQLITE_SQL.format(filters=conditions, score=_SCORE)
    owner = int(user.pk)
    # The user's words never match an owner column: each names the column it searches.
    words, title_words = f"content : ({match})", f"title : ({match})"
    with connection.cursor() as cursor:
        # A phrase's candidates: the rows holding its word pairs (migration 0011).
        if pairs := sqlite_pairs(cursor, text):
            words = f"{pairs} AND {words}"
        if _owner_is_broad(cursor, owner):
            messages, titles = words, title_words
        else:
            messages = f"search_owner_id : {owner} AND {words}"
            titles = f"owner_id : {owner} AND {title_words}"
        args = [START, STOP, messages, owner, *params, candidates]
        args += [START, STOP, titles, owner, *params, candidates, TITLE_WEIGHT, limit]
        cursor.execute(sql, args)
        ranked = cursor.fetchall()
    return [
        (conversation_id, public_id, rank, _excerpt(message), title)
        for conversation_id, public_id, rank, message, title in ranked
    ]


def conversation_search(
    *,
    user,
    query: str,
    project=None,
    archived: bool | None = None,
    pinned: bool | None = None,
    date_from: datetime | None = None,
    date_to: datetime | None = None,
    limit: int = 20,
) -> list[SearchResult]:
    """Return the user's conversations best matching the query, each with its best message.

    Queries: PostgreSQL 2 (ranked hits with snippets, conversations); SQLite 3 (who wrote
    the newest messages, ranked hits with their highlighted texts, conversations). A query
    with a phrase of two words or more adds its pairs' look-up: 1 on PostgreSQL, 4 on SQLite
    (conversations.fulltext).
    """
    text = _clean(query)
    if not text or not getattr(user, "is_authenticated", False):
        return []
    limit = max(1, min(limit, MAX_LIMIT))
    filters = _filters(
        alias="c",
        project=project,
        archived=archived,
        pinned=pinned,
        date_from=date_from,
        date_to=date_to,
    )
    vendor = connection.vendor
    candidates = CANDIDATES_PER_RESULT * limit
    if vendor == "postgresql":
        rows = _search_postgres(user, text, filters, limit, candidates)
    elif vendor == "sqlite":
        rows = _search_sqlite(user, text, filters, limit, candidates)
    else:
        raise NotImplementedError(f"Search does not support {vendor}.")
    if not rows:
        return []
    conversations = Conversation.objects.select_related("project").in_bulk([row[0] for row in rows])
    results = []
    for conversation_id, message_public_id, rank, snippet, title in rows:
        conversation = conversations.get(conversation_id)
        if conversation is None:  # Deleted between the two queries.
            continue
        results.append(
            SearchResult(
                conversation=conversation,
                message_public_id=message_public_id,
                rank=float(rank),
                title=segments(title) or [Segment(str(conversation), False)],
                snippet=segments(snippet) or [Segment(conversation.preview, False)],
            )
        )
    return results
