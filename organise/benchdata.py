"""Fill a database with realistic users, conversations and messages, fast, for benchmarks.

Rows are built as plain tuples with primary keys assigned up front, so a message can name
its parent and a conversation its current message without a query per row. PostgreSQL
loads them with COPY; every other database with bulk_create in large batches. Each chunk
of conversations and their messages is one transaction (foreign keys are deferred, so the
order inside it does not matter).
"""

import random
import re
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.db.models import Max
from django.utils import timezone
from tqdm import tqdm

from conversations.counters import make_preview
from conversations.engine.context import MESSAGE_OVERHEAD_TOKENS, context_budget
from conversations.llm import estimate_tokens
from conversations.models import TITLE_MAX_CHARS, Conversation, Message
from conversations.rendering import RENDER_VERSION, message_html
from core import sqlite
from core.ids import new_conversation_id, new_message_id

BENCH_PASSWORD = "bench"
# Conversations are spread over this many days, denser towards today.
SPAN_DAYS = 730
# Roughly this many messages go into one transaction.
MESSAGES_PER_CHUNK = 50_000
MAX_CONVERSATIONS_PER_CHUNK = 5_000

VOCABULARY = """
able about access account actually add after again agent algorithm already also answer
api app array async attention back batch before best better book branch break browser
budget buffer build cache call can change check chunk class clean client code column
commit compare config connection context could count create data database date debug
default deploy design detail diff does done down draft each edit email empty error even
event example export feature field file filter first fix follow form format function
game garden get given good graph great group guide handle have help here history home
host idea import index input issue item just keep key know label large last later layout
learn less list load local lock log long look loop make many map maybe memory merge
message method model module more move much name need network new next note number object
offset often once only open order other output page paper parse part path pattern people
plan point pool port post prefer print problem process project prompt query queue quick
rate read really reason recipe record redis refactor remote render reply request result
return review right route row run safe same save scale schema search section send server
session set share should show simple size slow small socket some sort source split start
state step store stream string style summary support sure table task team test text
thanks that then there thing think thread time title token total trace travel tree try
type update upgrade user value version view wait want way week what when where which
while why window work worker would write year yes yet your zone
"""
WORDS = VOCABULARY.split()

MESSAGE_RANGE_RE = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$")


@dataclass(frozen=True)
class MessageRange:
    """How many messages each conversation gets: exactly `low`, or uniformly low..high."""

    low: int
    high: int

    @classmethod
    def parse(cls, text: str) -> "MessageRange":
        """Parse ``N`` or ``MIN-MAX``; raise ValueError with a readable reason otherwise."""
        match = MESSAGE_RANGE_RE.match(str(text))
        if not match:
            raise ValueError(f"{text!r} is not a count: give N or MIN-MAX, e.g. 20 or 2-40.")
        low = int(match[1])
        high = int(match[2]) if match[2] is not None else low
        if high < low:
            raise ValueError(f"{text!r}: MIN must not be larger than MAX.")
        return cls(low, high)

    @property
    def mean(self) -> float:
        return (self.low + self.high) / 2

    def __str__(self):
        return str(self.low) if self.low == self.high else f"{self.low}-{self.high}"


@dataclass(frozen=True)
class GenerationResult:
    users: int
    users_created: int
    conversations: int
    messages: int
    seconds: float


CONVERSATION_COLUMNS = (
    "id",
    "public_id",
    "owner_id",
    "project_id",
    "title",
    "status",
    "status_reason",
    "pinned_at",
    "archived_at",
    "metadata",
    "message_count",
    "preview",
    "token_count",
    "current_message_id",
    "created_at",
    "updated_at",
)
MESSAGE_COLUMNS = (
    "id",
    "public_id",
    "conversation_id",
    "parent_id",
    "role",
    "content",
    "content_html",
    "render_version",
    "status",
    "status_reason",
    "model",
    "input_tokens",
    "output_tokens",
    "call_id",
    "client_id",
    "created_at",
    "updated_at",
    "feedback_rating",
    "feedback_comment",
    "feedback_at",
)


class TextMaker:
    """Make varied, plausible-looking text from a small vocabulary.

    Messages are drawn from a pool of sentences. The pool comes from `pool_rng` when one is
    given (the rest from `rng`), so runs that share a pool's seed write the same kind of
    text: a phrase occurs at the same rate in each, and a history ten times the size holds
    it about ten times as often.
    """

    def __init__(
        self, rng: random.Random, pool_size: int = 4_000, pool_rng: random.Random | None = None
    ):
        self.rng = rng
        pool_rng = pool_rng or rng
        self.sentences = [self._sentence(pool_rng) for _ in range(pool_size)]

    @staticmethod
    def _sentence(rng: random.Random) -> str:
        words = rng.choices(WORDS, k=rng.randint(4, 18))
        end = rng.choices(".?!", weights=(8, 2, 1))[0]
        return " ".join(words).capitalize() + end

    def title(self) -> str:
        words = self.rng.choices(WORDS, k=self.rng.randint(2, 6))
        return " ".join(words).capitalize()[:TITLE_MAX_CHARS]

    def user_message(self) -> str:
        return " ".join(self.rng.choices(self.sentences, k=self.rng.randint(1, 4)))

    def assistant_message(self) -> str:
        rng = self.rng
        paragraphs = [
            " ".join(rng.choices(self.sentences, k=rng.randint(1, 4)))
            for _ in range(rng.randint(1, 5))
        ]
        if rng.random() < 0.15:
            items = rng.choices(self.sentences, k=rng.randint(2, 5))
            paragraphs.insert(rng.randint(0, len(paragraphs)), "\n".join(f"- {s}" for s in items))
        if rng.random() < 0.08:
            code = "\n".join(
                f"{rng.choice(WORDS)} = {rng.choice(WORDS)}({rng.choice(WORDS)})"
                for _ in range(rng.randint(1, 6))
            )
            paragraphs.append(f"```python\n{code}\n```")
        return "\n\n".join(paragraphs)


class ContextWindow:
    """The token figures the engine stores for a chain: its context trimmed to the budget.

    Mirrors conversations.engine.context.build_context for a chain of non-empty messages:
    the newest messages that fit `budget` (each costing its tokens plus the framing
    overhead; the newest is always sent), at most `budget // overhead` of them. A reply's
    input tokens are the estimated tokens of that context, as reply_finish stores them.
    """

    def __init__(self, budget: int):
        self.budget = budget
        self.limit = max(budget // MESSAGE_OVERHEAD_TOKENS, 1)
        self.kept: deque[int] = deque()
        self.cost = 0
        self.tokens = 0

    def add(self, tokens: int) -> None:
        """Append a message of `tokens` tokens and drop the oldest ones that no longer fit."""
        self.kept.append(tokens)
        self.cost += tokens + MESSAGE_OVERHEAD_TOKENS
        self.tokens += tokens
        while len(self.kept) > 1 and (self.cost > self.budget or len(self.kept) > self.limit):
            dropped = self.kept.popleft()
            self.cost -= dropped + MESSAGE_OVERHEAD_TOKENS
            self.tokens -= dropped


class RowMaker:
    """Build conversation and message rows with ids taken from two counters."""

    def __init__(
        self,
        *,
        rng: random.Random,
        now: datetime,
        messages: MessageRange,
        model: str,
        text_seed: int | None = None,
    ):
        self.rng = rng
        self.now = now
        self.messages = messages
        self.model = model
        pool_rng = random.Random(text_seed) if text_seed is not None else None
        self.text = TextMaker(rng, pool_rng=pool_rng)
        self.next_conversation_id = 1
        self.next_message_id = 1

    def updated_at(self, index: int, total: int) -> datetime:
        """Return the last activity of the index-th of total conversations (oldest first)."""
        # Stratified and squared: every stretch of time gets some, recent days get more.
        fraction = (total - 1 - index + self.rng.random()) / total
        return self.now - timedelta(days=SPAN_DAYS * fraction * fraction)

    def conversation(self, *, owner_id: int, updated_at: datetime) -> tuple[tuple, list[tuple]]:
        """Return one conversation row and its messages: a user/assistant chain."""
        rng = self.rng
        conversation_id = self.next_conversation_id
        self.next_conversation_id += 1
        count = rng.randint(self.messages.low, self.messages.high)
        # A conversation lasts from a minute to a few hours.
        duration = timedelta(minutes=min(rng.expovariate(1 / 20) + 1, 600))
        created_at = updated_at - duration
        step = duration / max(count - 1, 1)
        rows = []
        parent_id = None
        context = ContextWindow(context_budget(self.model))
        tokens_total = 0
        last_user_text = ""
        for position in range(count):
            message_id = self.next_message_id
            self.next_message_id += 1
            stamp = updated_at if position == count - 1 else created_at + step * position
            if position % 2 == 0:
                role = Message.Role.USER
                content = self.text.user_message()
                last_user_text = content
                model = ""
                input_tokens = output_tokens = 0
                context.add(estimate_tokens(content))
            else:
                role = Message.Role.ASSISTANT
                content = self.text.assistant_message()
                model = self.model
                input_tokens = context.tokens
                output_tokens = estimate_tokens(content)
                context.add(output_tokens)
                tokens_total += input_tokens + output_tokens
            rows.append(
                (
                    message_id,
                    new_message_id(),
                    conversation_id,
                    parent_id,
                    role,
                    content,
                    message_html(content),
                    RENDER_VERSION,
                    Message.Status.COMPLETED,
                    "",
                    model,
                    input_tokens,
                    output_tokens,
                    "",
                    None,
                    stamp,
                    stamp,
                    "",
                    "",
                    None,
                )
            )
            parent_id = message_id
        roll = rng.random()
        conversation_row = (
            conversation_id,
            new_conversation_id(),
            owner_id,
            None,
            "" if roll < 0.02 else self.text.title(),
            Conversation.Status.ACTIVE,
            "",
            updated_at if roll > 0.9995 else None,
            updated_at + timedelta(minutes=5) if 0.02 <= roll < 0.04 else None,
            {},
            count,
            make_preview(last_user_text),
            tokens_total,
            parent_id,
            created_at,
            updated_at,
        )
        return conversation_row, rows


def _copy(model: type[models.Model], columns: tuple[str, ...], rows: list[tuple]) -> None:
    """Load rows into model's table with PostgreSQL's COPY."""
    from psycopg.types.json import Jsonb

    json_positions = [
        i
        for i, name in enumerate(columns)
        if isinstance(model._meta.get_field(_field_name(model, name)), models.JSONField)
    ]
    quote = connection.ops.quote_name
    sql = "COPY {} ({}) FROM STDIN".format(
        quote(model._meta.db_table), ", ".join(quote(c) for c in columns)
    )
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for row in rows:
            if json_positions:
                row = list(row)
                for i in json_positions:
                    row[i] = Jsonb(row[i])
            copy.write_row(row)


def _field_name(model: type[models.Model], column: str) -> str:
    for field in model._meta.concrete_fields:
        if field.column == column:
            return field.name
    raise LookupError(f"{model.__name__} has no column {column}")


def _bulk_create(model: type[models.Model], columns: tuple[str, ...], rows: list[tuple]) -> None:
    """Insert rows with bulk_create in large batches."""
    objects = [model(**dict(zip(columns, row, strict=True))) for row in rows]
    model.objects.bulk_create(objects, batch_size=5_000)


def _write(model: type[models.Model], columns: tuple[str, ...], rows: list[tuple]) -> None:
    if not rows:
        return
    if connection.vendor == "postgresql":
        _copy(model, columns, rows)
    else:
        _bulk_create(model, columns, rows)


def _check_columns() -> None:
    """Fail loudly if the models gained a column this generator does not fill."""
    for model, columns in ((Conversation, CONVERSATION_COLUMNS), (Message, MESSAGE_COLUMNS)):
        missing = {f.column for f in model._meta.concrete_fields} - set(columns)
        if missing:
            raise RuntimeError(
                f"organise.benchdata does not fill {model.__name__} columns: {sorted(missing)}"
            )


def bench_users_ensure(*, count: int, prefix: str) -> tuple[list[int], int]:
    """Return the ids of users prefix1..prefixN and how many of them were created now.

    New users get the password "bench", so one can log in and look at the sidebar.
    """
    user_model = get_user_model()
    names = [f"{prefix}{i}" for i in range(1, count + 1)]
    existing = dict(user_model.objects.filter(username__in=names).values_list("username", "id"))
    missing = [name for name in names if name not in existing]
    if missing:
        password = make_password(BENCH_PASSWORD)
        user_model.objects.bulk_create(
            [user_model(username=name, password=password) for name in missing],
            batch_size=500,
        )
        existing = dict(user_model.objects.filter(username__in=names).values_list("username", "id"))
    return [existing[name] for name in names], len(missing)


def _chunks(total: int, size: int) -> Iterator[range]:
    for start in range(0, total, size):
        yield range(start, min(start + size, total))


def bench_data_generate(
    *,
    users: int,
    conversations: int,
    messages: MessageRange,
    seed: int | None = None,
    text_seed: int | None = None,
    prefix: str = "bench",
    progress: bool = True,
) -> GenerationResult:
    """Add `conversations` conversations of `messages` messages for each of `users` users.

    `seed` fixes text, lengths and dates; `text_seed`, when given, fixes the pool of
    sentences the text is drawn from alone, so runs with different seeds can share it.

    Run it on a database nobody else is writing to: primary keys are handed out from the
    current maximum, and the sequences are moved past them at the end.
    """
    if users < 1 or conversations < 0:
        raise ValueError("Give at least one user and a non-negative number of conversations.")
    _check_columns()
    started = time.perf_counter()
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            # The default 2 MB page cache spills the random-keyed public_id indexes to the
            # WAL in the middle of each big transaction; a large one writes a third as much.
            cursor.execute("PRAGMA cache_size = -1000000")
    rng = random.Random(seed)
    maker = RowMaker(
        rng=rng,
        now=timezone.now(),
        messages=messages,
        model=settings.CHAT_MODELS[0],
        text_seed=text_seed,
    )
    user_ids, users_created = bench_users_ensure(count=users, prefix=prefix)
    maker.next_conversation_id = (Conversation.objects.aggregate(m=Max("id"))["m"] or 0) + 1
    maker.next_message_id = (Message.objects.aggregate(m=Max("id"))["m"] or 0) + 1
    chunk_size = max(
        1, min(MAX_CONVERSATIONS_PER_CHUNK, int(MESSAGES_PER_CHUNK / max(messages.mean, 1)))
    )
    total_messages = 0
    bar = tqdm(
        total=users * conversations,
        unit="conv",
        unit_scale=True,
        disable=not progress,
        desc="Generating",
    )
    with bar:
        for owner_id in user_ids:
            for chunk in _chunks(conversations, chunk_size):
                conversation_rows = []
                message_rows = []
                for index in chunk:
                    conversation_row, rows = maker.conversation(
                        owner_id=owner_id, updated_at=maker.updated_at(index, conversations)
                    )
                    conversation_rows.append(conversation_row)
                    message_rows.extend(rows)
                with transaction.atomic():
                    _write(Conversation, CONVERSATION_COLUMNS, conversation_rows)
                    _write(Message, MESSAGE_COLUMNS, message_rows)
                total_messages += len(message_rows)
                bar.update(len(conversation_rows))
                bar.set_postfix(messages=f"{total_messages:,}", refresh=False)
    _after_load()
    return GenerationResult(
        users=users,
        users_created=users_created,
        conversations=users * conversations,
        messages=total_messages,
        seconds=time.perf_counter() - started,
    )


def _after_load() -> None:
    """Move id sequences past the loaded rows, merge the full-text indexes, refresh statistics."""
    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), [Conversation, Message]):
            cursor.execute(sql)
    # SQLite: the full-text indexes in one segment each, as db_maintenance leaves them, and
    # the statistics its planner needs (connection_created does the same later).
    with connection.cursor() as cursor:
        for statement in sqlite.merge_fulltext_statements(connection):
            cursor.execute(statement)
    sqlite.optimize(connection, analyze=True)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # What autovacuum would soon do; the benchmark should not race it.
            for model in (Conversation, Message):
                cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
