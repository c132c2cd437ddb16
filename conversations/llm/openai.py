"""OpenAI-compatible provider: Chat Completions streaming through one AsyncOpenAI client."""

import asyncio
import json
import weakref
from collections.abc import AsyncIterator

import aiohttp
import openai
from django.conf import settings

from conversations.llm.base import ChatMessage, ProviderError, StreamEvent, TextDelta, Usage
from core.text import shorten

# One client per event loop: its connection pool belongs to the loop that opened it. A server
# has one loop, so one client; a generation run to completion outside a server gets its own.
_clients: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, openai.AsyncOpenAI]" = (
    weakref.WeakKeyDictionary()
)


def get_client() -> openai.AsyncOpenAI:
    """Return the client of the running loop, built from settings on first use."""
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None:
        client = _clients[loop] = _build_client()
    return client


async def close_client() -> None:
    """Close the running loop's client (before a short-lived loop ends)."""
    client = _clients.pop(asyncio.get_running_loop(), None)
    if client is not None:
        await client.close()


def reset_clients() -> None:
    """Forget every client so changed settings take effect (tests)."""
    _clients.clear()


def _build_client() -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(
        api_key=settings.OPENAI_API_KEY or "unset",
        base_url=settings.OPENAI_BASE_URL,
        # Read timeout is the longest silence between two chunks; the engine enforces its own
        # GENERATION_TIMEOUT on top, so a stuck stream never outlives it.
        timeout=openai.Timeout(
            settings.GENERATION_TIMEOUT + 5, connect=settings.OPENAI_CONNECT_TIMEOUT
        ),
        max_retries=settings.OPENAI_MAX_RETRIES,
        # The SDK's aiohttp transport: its C parser reads a streamed chunk for a fraction of
        # what the default pure-Python HTTP stack costs, the largest cost per token (see
        # bench/README.md, Streams).
        http_client=openai.DefaultAioHttpClient(),
    )


def describe_error(exc: Exception) -> str:
    """Return a short human reason for a failed call."""
    if isinstance(exc, openai.APIStatusError):
        body = exc.body if isinstance(exc.body, dict) else {}
        detail = body.get("message") or exc.message
        return f"The model endpoint answered {exc.status_code}: {_short(detail)}"
    if isinstance(exc, openai.APITimeoutError) and not _refused(exc):
        return "The model endpoint timed out."
    if isinstance(exc, openai.APIConnectionError):
        return "Could not reach the model endpoint."
    return f"The model stream broke off ({type(exc).__name__})."


def _refused(exc: BaseException) -> bool:
    """Return whether the connection itself failed (the aiohttp transport calls that a timeout)."""
    seen = exc
    while seen is not None:
        if isinstance(seen, aiohttp.ClientConnectorError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _error_text(chunk: dict) -> str:
    error = chunk["error"]
    return _short(error.get("message", "") if isinstance(error, dict) else str(error))


def _short(text: str, limit: int = 200) -> str:
    return shorten(str(text), limit)


class OpenAIProvider:
    def __init__(self, model: str):
        self.model = model

    async def stream(self, messages: list[ChatMessage]) -> AsyncIterator[StreamEvent]:
        """Yield the reply's text deltas, then the usage from the final chunk.

        The SDK sends the request (auth, retries before the first byte, timeouts); the
        server-sent events are read raw, as building an SDK object per chunk costs more
        than everything else the server does for a token.
        """
        call_id = ""
        usage: dict | None = None
        finished = False
        received = False
        try:
            async with get_client().chat.completions.with_streaming_response.create(
                model=self.model,
                messages=messages,
                stream=True,
                stream_options={"include_usage": True},
            ) as response:
                async for line in response.iter_lines():
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        break
                    chunk = json.loads(data)
                    if chunk.get("error"):
                        raise ProviderError(f"The model reported an error: {_error_text(chunk)}")
                    received = True
                    call_id = call_id or chunk.get("id") or ""
                    usage = chunk.get("usage") or usage
                    for choice in chunk.get("choices") or ():
                        finished = finished or choice.get("finish_reason") is not None
                        if text := (choice.get("delta") or {}).get("content"):
                            yield TextDelta(text)
        except ProviderError:
            raise
        except Exception as exc:  # the SDK's and the HTTP layer's errors alike
            if received:
                raise ProviderError("The connection to the model broke off mid-reply.") from exc
            raise ProviderError(describe_error(exc)) from exc
        if not finished and usage is None:
            raise ProviderError("The model stream ended before the reply was finished.")
        yield Usage(
            input_tokens=usage.get("prompt_tokens") if usage else None,
            output_tokens=usage.get("completion_tokens") if usage else None,
            call_id=call_id,
        )

    async def complete(self, messages: list[ChatMessage], *, max_tokens: int) -> str:
        """Return the text of one short non-streamed completion."""
        try:
            response = await get_client().chat.completions.create(
                model=self.model, messages=messages, max_tokens=max_tokens
            )
        except openai.OpenAIError as exc:
            raise ProviderError(describe_error(exc)) from exc
        if not response.choices:
            raise ProviderError("The model returned no choices.")
        return response.choices[0].message.content or ""

    async def aclose(self) -> None:
        """Close the running loop's client (shared by every OpenAI model on that loop)."""
        await close_client()
