"""Offline demo model: streams a plausible markdown reply built from the user's message."""

import asyncio
import re
from collections.abc import AsyncIterator

from django.conf import settings

from conversations.llm.base import (
    ChatMessage,
    StreamEvent,
    TextDelta,
    Usage,
    derive_title,
    estimate_tokens,
)
from core.text import shorten


def compose_reply(question: str) -> str:
    """Return a markdown reply with a heading, a list, a code block and a table."""
    topic = derive_title(question)
    words = [w.strip(".,:;!?\"'()") for w in question.split()]
    keywords = [w for w in words if len(w) > 3][:3] or ["this"]
    bullets = "\n".join(f"- **{word}**: worth a closer look." for word in keywords)
    rows = "\n".join(f"| {word} | {len(word)} |" for word in keywords)
    return (
        f"## {topic}\n\n"
        f"You asked: *{_quote(question)}*. This is the offline demo model, so here is a "
        "sketch of how an answer would be laid out.\n\n"
        f"### Key points\n\n{bullets}\n\n"
        "### Example\n\n"
        "```python\n"
        f"def answer(question: str) -> str:\n"
        f'    return "Thinking about " + question\n'
        "```\n\n"
        f"| word | letters |\n| --- | --- |\n{rows}\n\n"
        "Set `OPENAI_API_KEY` (and optionally `OPENAI_BASE_URL`) to talk to a real model."
    )


# What the demo model adds to a reply that is not the start of its own.
CONTINUATION = "\n\nThat is all the offline demo model has to add."


def continue_reply(reply: str, partial: str) -> str:
    """Return what follows `partial`: the rest of `reply` if it began it, else a closing line."""
    return reply[len(partial) :] if reply.startswith(partial) else CONTINUATION


def _quote(text: str, limit: int = 80) -> str:
    line = " ".join(text.split())
    line = re.sub(r"[*_`]", "", line)
    return shorten(line, limit)


class DemoProvider:
    def __init__(self, model: str):
        self.model = model

    async def stream(self, messages: list[ChatMessage]) -> AsyncIterator[StreamEvent]:
        """Yield the demo reply word by word with a small delay.

        Messages ending with an assistant message ask to continue that reply: yield the rest.
        """
        question = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
        reply = compose_reply(question)
        if messages and messages[-1]["role"] == "assistant":
            reply = continue_reply(reply, messages[-1]["content"])
        delay = settings.DEMO_TOKEN_DELAY
        for piece in re.findall(r"\S+\s*|\s+", reply):
            if delay:
                await asyncio.sleep(delay)
            yield TextDelta(piece)
        yield Usage(
            input_tokens=sum(estimate_tokens(m["content"]) for m in messages),
            output_tokens=estimate_tokens(reply),
            call_id="",
        )

    async def complete(self, messages: list[ChatMessage], *, max_tokens: int) -> str:
        """Return a title-like line derived from the last user message."""
        question = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
        return derive_title(question)

    async def aclose(self) -> None:
        """Hold nothing: there is nothing to release."""
