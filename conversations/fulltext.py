"""The full-text index of titles and messages (migrations 0002 and 0005), queried for any owner.

organise.search ranks one user's matches; the admin finds every owner's conversations by a
word in their messages. Both read the same index: FTS5 tables on SQLite, the stored
``search_vector`` columns on PostgreSQL, with the same query syntax (web search: words,
"phrases", OR, -word).
"""

import re
from dataclasses import dataclass

from django.db import connection

_FTS_TERM_RE = re.compile(r'(-?)"([^"]*)"|(\S+)')


def fts5_query(text: str) -> str:
    """Translate web-search syntax ("phrase", -word, OR) into a safe FTS5 query."""
    groups: list[list[str]] = [[]]
    negatives: list[str] = []
    pending_or = False
    for match in _FTS_TERM_RE.finditer(text):
        negate, phrase, word = match.groups()
        if word is not None:
            if word == "OR":
                pending_or = bool(groups[-1])
                continue
            negate = "-" if word.startswith("-") and len(word) > 1 else ""
            phrase = word[1:] if negate else word
        if not re.search(r"\w", phrase):
            continue
        term = '"' + phrase.replace('"', '""') + '"'
        if negate:
            negatives.append(term)
        elif pending_or:
            groups[-1].append(term)
            pending_or = False
        else:
            groups.append([term])
    positives = [" OR ".join(g) if len(g) == 1 else "(" + " OR ".join(g) + ")" for g in groups if g]
    if not positives:
        return ""
    return " AND ".join(positives) + "".join(f" NOT {term}" for term in negatives)


_PHRASE_RE = re.compile(r'(-?)"([^"]*)"')
_OR_RE = re.compile(r"(?<!\S)or(?!\S)", re.IGNORECASE)


def required_phrases(text: str) -> list[str]:
    """Return the quoted phrases every match must hold (none when the query has an OR)."""
    if _OR_RE.search(_PHRASE_RE.sub(" ", text)):  # an "or" inside quotes is a word
        return []
    return [phrase for negate, phrase in _PHRASE_RE.findall(text) if not negate and phrase]


# The SQLite indexes' tokenizer (migrations 0002, 0006, 0009, 0011).
SQLITE_TOKENIZER = "porter unicode61 remove_diacritics 2"
# The query's stage: the phrases tokenized as the index tokenizes a message (migration 0011),
# in the connection's temp schema, so a search writes nothing to the database file. Made on
# a connection's first phrase search (230 µs; a statement each later, 38 µs in all).
_SQLITE_QUERY_STAGE = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS temp.search_stage "
    f"USING fts5(body, content='', tokenize='{SQLITE_TOKENIZER}')",
    "CREATE VIRTUAL TABLE IF NOT EXISTS temp.search_stage_tokens "
    "USING fts5vocab(temp, search_stage, instance)",
]
# Each token with the next, as migration 0011's triggers pair a message's.
_SQLITE_PAIRS = """
SELECT DISTINCT pair FROM (
    SELECT term || 'x' || lead(term) OVER (PARTITION BY doc ORDER BY offset) AS pair
    FROM temp.search_stage_tokens
) WHERE pair IS NOT NULL ORDER BY pair
"""


def sqlite_pairs(cursor, text: str) -> str:
    """Return the FTS5 term that narrows `text` to rows holding its phrases' pairs, or "".

    Migration 0011 indexes each message's neighbouring stems as one token, in the column
    `search_pairs`; every row holding a phrase holds its pairs. Four statements for a query
    with a phrase of two words or more (make the stage if missing, twice; stage the
    phrases; read their pairs), none otherwise.
    """
    phrases = required_phrases(text)
    if not phrases:
        return ""
    for statement in _SQLITE_QUERY_STAGE:
        cursor.execute(statement)
    rows = ", (NULL, %s, %s)" * len(phrases)
    cursor.execute(
        "INSERT INTO temp.search_stage(search_stage, rowid, body) "
        f"VALUES ('delete-all', NULL, NULL){rows}",
        [value for doc, phrase in enumerate(phrases, 1) for value in (doc, phrase)],
    )
    cursor.execute(_SQLITE_PAIRS)
    pairs = [f'"{pair}"' for (pair,) in cursor.fetchall()]
    return f"search_pairs : ({' '.join(pairs)})" if pairs else ""


@dataclass(frozen=True)
class PairHits:
    """Where a PostgreSQL message search takes its rows from, and in what order.

    `source` is the FROM clause giving the message alias `m`; `order` goes in
    `ORDER BY {order} DESC LIMIT n`. A phrase with word pairs reads `pair_hits` (put `cte`
    in the query's WITH list, `args` are its parameters): the rows holding its pairs, newest
    first, joined to the messages, so the phrase is rechecked only until n rows pass. The
    cte is materialized, so the planner does not fold the pair test into the word index's
    recheck, which would compute every row's pairs again (migration 0012:
    `msg_pair_keys_idx`). Otherwise the message table: by "m.id" the planner walks the
    newest rows for common words; a phrase orders by "m.id + 0", which no btree provides,
    so the GIN index gives the rows holding every word and only those are rechecked (it
    would guess the phrase as common as its words and walk a million rows: 5 s).
    """

    cte: str = ""
    source: str = "conversations_message m"
    order: str = "m.id"
    args: tuple = ()


def pair_hits(text: str, *, owner_id: int | None = None) -> PairHits:
    """Return the rows `text`'s messages are searched in (its phrases' pair hits, if any).

    Whether the phrases keep two words once stop words go is asked of the database, which
    stems them (one small query, phrases only): an empty set of pairs would match every row.
    """
    no_pairs = PairHits(order="m.id + 0") if '"' in text else PairHits()
    phrases = required_phrases(text)
    if not phrases:
        return no_pairs
    with connection.cursor() as cursor:
        cursor.execute("SELECT cardinality(conversations_phrase_pairs(%s)) > 0", [phrases])
        if not cursor.fetchone()[0]:
            return no_pairs
    # The pair index holds each row's pairs as they are and under its owner (migration
    # 0012): a user's phrase reads that user's keys, so the index gives only their rows;
    # any owner's (the admin) reads the plain pairs. The caller checks the owner on the
    # row (a key is only a narrowing), so nothing here asks the planner to AND the owner's
    # btree, a bitmap of all their rows (7.5 ms for 100,000 of them).
    if owner_id is None:
        keys = "conversations_phrase_pairs(%s)"
    else:
        keys = "conversations_owner_phrase_pairs(%s::bigint, %s)"
    cte = (
        "pair_hits AS MATERIALIZED (SELECT id FROM conversations_message WHERE "
        f"conversations_search_pair_keys(search_owner_id, search_vector) @> {keys})"
    )
    args = (phrases,) if owner_id is None else (owner_id, phrases)
    # Newest first, the order kept by the join: as `m.id IN (pair hits)`, every hit was
    # rechecked and then sorted (for "search index" at a million, 2,711 hits before migration
    # 0010 and 1,345 since, against 1,000). Each hit's row is read by its id, in a lateral
    # subquery the planner cannot flatten (OFFSET 0): as a plain join it guessed a user's
    # 127 hits of "open file" at 3,641 (a GIN estimate) and hashed them against a bitmap of
    # every row of the user's holding both words, 4,819 rows on 4,262 pages (37 of 44 ms).
    source = (
        "(SELECT id FROM pair_hits ORDER BY id DESC) p CROSS JOIN LATERAL "
        "(SELECT * FROM conversations_message WHERE id = p.id OFFSET 0) m"
    )
    return PairHits(cte, source, "p.id", args)


# Each part reads one index newest first and stops at its LIMIT: the newest matching
# messages stand for their conversations, so a word found in 200,000 messages costs what one
# found in `limit` does; the titles' hits are the other part.
_SQLITE_SQL = """
SELECT DISTINCT m.conversation_id
FROM (
    SELECT rowid AS id FROM conversations_message_fts
    WHERE conversations_message_fts MATCH %s ORDER BY rowid DESC LIMIT %s
) hits
JOIN conversations_message m ON m.id = hits.id
UNION
SELECT id FROM (
    SELECT rowid AS id FROM conversations_conversation_fts
    WHERE conversations_conversation_fts MATCH %s ORDER BY rowid DESC LIMIT %s
)
"""

# The messages' rows and order come from pair_hits (see PairHits); a phrase's titles are
# ordered by "id + 0" for the same reason as its messages without pairs.
_POSTGRES_SQL = """
{with_pairs}
SELECT conversation_id FROM (
    SELECT m.conversation_id FROM {source}
    WHERE m.search_vector @@ websearch_to_tsquery('english', %s)
    ORDER BY {order} DESC LIMIT %s
) messages
UNION
SELECT id FROM (
    SELECT id FROM conversations_conversation
    WHERE search_vector @@ websearch_to_tsquery('english', %s)
    ORDER BY {title_order} DESC LIMIT %s
) titles
"""


def conversation_ids_matching(*, query: str, limit: int) -> list[int]:
    """Return the ids of conversations of any owner matching `query` (and a phrase's pairs).

    The conversations of the newest `limit` matching messages and of the newest `limit`
    matching titles: at most 2 * `limit` ids, in no order. A query of nothing searchable
    matches nothing.
    """
    vendor = connection.vendor
    if vendor == "sqlite":
        match = fts5_query(query)
        if not match:
            return []
        sql = _SQLITE_SQL
        # Qualified: both indexes hold an owner id beside the text (migrations 0006, 0009),
        # and the message index a phrase's pairs (0011).
        with connection.cursor() as cursor:
            pairs = sqlite_pairs(cursor, query)
        words = f"{pairs} AND content : ({match})" if pairs else f"content : ({match})"
        args = [words, limit, f"title : ({match})", limit]
    elif vendor == "postgresql":
        if not re.search(r"\w", query):
            return []
        pairs = pair_hits(query)
        sql = _POSTGRES_SQL.format(
            with_pairs=f"WITH {pairs.cte}" if pairs.cte else "",
            source=pairs.source,
            order=pairs.order,
            title_order="id + 0" if '"' in query else "id",
        )
        args = [*pairs.args, query, limit, query, limit]
    else:
        raise NotImplementedError(f"Full-text search does not support {vendor}.")
    with connection.cursor() as cursor:
        cursor.execute(sql, args)
        return [row[0] for row in cursor.fetchall()]
