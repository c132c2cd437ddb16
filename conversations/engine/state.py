"""What a running reply is, and how every process sees it: liveness and stop keys."""

import asyncio
import os
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache

from conversations.engine.blocks import BlockRenderer
from conversations.llm import ChatMessage, Usage

# A generation refreshes its liveness key this often; other processes read it on Stop.
HEARTBEAT_INTERVAL = settings.GENERATION_HEARTBEAT_INTERVAL

STOPPED_REASON = "Stopped by user."

# Generations running in this process, by message pk.
running: dict[int, "Generation"] = {}


@dataclass
class Generation:
    message_id: int
    public_id: str
    conversation_id: int
    conversation_public_id: str
    owner_id: int
    model: str
    context: list[ChatMessage]
    title_source: str
    text: str = ""
    usage: Usage | None = None
    # A continued reply: the text it already had and the tokens already counted for it.
    prefix: str = ""
    prior_tokens: tuple[int, int] = (0, 0)
    # The text the last frame showed (raw, for clients of the text: SSE).
    published: str = ""
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    # The stopped reply's status line: who stopped it (a moderator's lock says why).
    stop_reason: str = STOPPED_REASON
    flushes: int = 0
    last_token: float = field(default_factory=time.monotonic)
    started: float = field(default_factory=time.monotonic)
    # Renders each frame once for every watcher; its state answers a socket's resync.
    renderer: BlockRenderer = field(default_factory=BlockRenderer)


def alive_key(message_id: int) -> str:
    return f"generation:alive:{message_id}"


def stop_key(message_id: int) -> str:
    return f"generation:stop:{message_id}"


def heartbeat_ttl() -> float:
    """Return how long a liveness key outlives its last beat: a dead engine is seen in that."""
    return max(settings.GENERATION_HEARTBEAT_TTL, HEARTBEAT_INTERVAL * 2)


def mark_alive(message_id: int) -> None:
    """Tell every process an engine of this one is generating the reply."""
    mark_alive_many([message_id])


def mark_alive_many(message_ids: list[int]) -> None:
    """Tell every process an engine of this one is generating these replies (one cache call)."""
    pid = os.getpid()
    cache.set_many({alive_key(pk): pid for pk in message_ids}, timeout=heartbeat_ttl())


def runs_here(message_id: int) -> bool:
    """Return True if an engine of this process is generating the reply."""
    return message_id in running


def is_running(message_id: int) -> bool:
    """Return True if an engine (in this or another process) is generating the reply."""
    return message_id in running or cache.get(alive_key(message_id)) is not None
