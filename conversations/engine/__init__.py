"""Generate assistant replies detached from any socket or request.

A reply is a Message row `in_progress`. The engine builds the context from the database,
streams from the provider, publishes the text to the conversation's group at most every
PUBLISH_INTERVAL, writes it to the row at most every GENERATION_FLUSH_INTERVAL and once at
the end, and leaves the row in exactly one final status.

Callers use the names below; the modules behind them are the engine's own.
"""

from conversations.engine.context import build_context
from conversations.engine.db import close_db_connections
from conversations.engine.loop import PUBLISH_INTERVAL, run_generation
from conversations.engine.runner import start_generation, wait_for_running
from conversations.engine.state import (
    HEARTBEAT_INTERVAL,
    STOPPED_REASON,
    alive_key,
    heartbeat_ttl,
    is_running,
    runs_here,
    stop_key,
)
from conversations.engine.store import (
    CSRF_FIELD,
    CSRF_PLACEHOLDER,
    message_render,
    messages_created_render,
    sweep_at_startup,
    sweep_generations,
)

__all__ = [
    "CSRF_FIELD",
    "CSRF_PLACEHOLDER",
    "HEARTBEAT_INTERVAL",
    "PUBLISH_INTERVAL",
    "STOPPED_REASON",
    "alive_key",
    "build_context",
    "close_db_connections",
    "heartbeat_ttl",
    "is_running",
    "message_render",
    "messages_created_render",
    "run_generation",
    "runs_here",
    "start_generation",
    "stop_key",
    "sweep_at_startup",
    "sweep_generations",
    "wait_for_running",
]
