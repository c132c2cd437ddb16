"""Model providers: no ORM here, only talking to models.

Callers use this package's names; the adapters (demo, openai) stay behind the registry.
"""

from conversations.llm.base import (
    DEMO_MODEL,
    TITLE_MAX_CHARS,
    ChatMessage,
    Provider,
    ProviderError,
    StreamEvent,
    TextDelta,
    Usage,
    derive_title,
    estimate_tokens,
)
from conversations.llm.registry import aclose_providers, get_provider, reset_providers

__all__ = [
    "DEMO_MODEL",
    "TITLE_MAX_CHARS",
    "ChatMessage",
    "Provider",
    "ProviderError",
    "StreamEvent",
    "TextDelta",
    "Usage",
    "aclose_providers",
    "derive_title",
    "estimate_tokens",
    "get_provider",
    "reset_providers",
]
