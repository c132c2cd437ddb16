"""The provider protocol: stream text deltas of a chat reply, then report usage."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import cache
from typing import Protocol, TypedDict

DEMO_MODEL = "demo"


class ChatMessage(TypedDict):
    role: str
    content: str


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class Usage:
    """What the provider reports once the reply ends (None when it reports nothing)."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    call_id: str = ""


StreamEvent = TextDelta | Usage


class ProviderError(Exception):
    """The model endpoint failed; `reason` is shown to the user."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Provider(Protocol):
    model: str

    def stream(self, messages: list[ChatMessage]) -> AsyncIterator[StreamEvent]:
        """Yield TextDelta items as the reply arrives, then at most one Usage."""
        ...

    async def complete(self, messages: list[ChatMessage], *, max_tokens: int) -> str:
        """Return a short non-streamed reply (used for titles)."""
        ...


@cache
def get_provider(model: str) -> Provider:
    """Return the provider that serves `model` (built once per model name)."""
    if model == DEMO_MODEL:
        from conversations.llm.demo import DemoProvider

        return DemoProvider(model)
    from conversations.llm.openai import OpenAIProvider

    return OpenAIProvider(model)


def reset_providers() -> None:
    """Forget built providers so changed settings take effect (tests)."""
    from conversations.llm import openai

    get_provider.cache_clear()
    openai.reset_clients()


def estimate_tokens(text: str) -> int:
    """Return a rough token count (about four characters a token)."""
    return (len(text) + 3) // 4 if text else 0
