"""The provider protocol: stream text deltas of a chat reply, then report usage."""

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol, TypedDict

from core.text import shorten

DEMO_MODEL = "demo"
TITLE_MAX_WORDS = 6
TITLE_MAX_CHARS = 60


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

    async def aclose(self) -> None:
        """Release what the provider holds on the running event loop (before it ends)."""
        ...


def estimate_tokens(text: str) -> int:
    """Return a rough token count (about four characters a token)."""
    return (len(text) + 3) // 4 if text else 0


def derive_title(text: str) -> str:
    """Return a short title from the first words of a message."""
    first_line = next((line for line in text.strip().splitlines() if line.strip()), "")
    words = re.sub(r"[#*_`>\[\]()]+", " ", first_line).split()
    title = " ".join(words[:TITLE_MAX_WORDS]).strip(" .,:;!?-")
    title = shorten(title, TITLE_MAX_CHARS)
    return title[:1].upper() + title[1:] if title else "New chat"
