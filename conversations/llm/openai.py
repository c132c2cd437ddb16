"""OpenAI-compatible provider: Chat Completions streaming through one AsyncOpenAI client."""

from collections.abc import AsyncIterator
from functools import cache

import openai
from django.conf import settings

from conversations.llm.base import ChatMessage, ProviderError, StreamEvent, TextDelta, Usage


@cache
def get_client() -> openai.AsyncOpenAI:
    """Return the one client, built from settings on first use."""
    return openai.AsyncOpenAI(
        api_key=settings.OPENAI_API_KEY or "unset",
        base_url=settings.OPENAI_BASE_URL,
        # Read timeout is the longest silence between two chunks; the engine enforces its own
        # GENERATION_TIMEOUT on top, so a stuck stream never outlives it.
        timeout=openai.Timeout(
            settings.GENERATION_TIMEOUT + 5, connect=getattr(settings, "OPENAI_CONNECT_TIMEOUT", 10)
        ),
        max_retries=getattr(settings, "OPENAI_MAX_RETRIES", 2),
    )


def describe_error(exc: Exception) -> str:
    """Return a short human reason for a failed call."""
    if isinstance(exc, openai.APIStatusError):
        body = exc.body if isinstance(exc.body, dict) else {}
        detail = body.get("message") or exc.message
        return f"The model endpoint answered {exc.status_code}: {_short(detail)}"
    if isinstance(exc, openai.APITimeoutError):
        return "The model endpoint timed out."
    if isinstance(exc, openai.APIConnectionError):
        return "Could not reach the model endpoint."
    return f"The model stream broke off ({type(exc).__name__})."


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class OpenAIProvider:
    def __init__(self, model: str):
        self.model = model

    async def stream(self, messages: list[ChatMessage]) -> AsyncIterator[StreamEvent]:
        """Yield the reply's text deltas, then the usage from the final chunk."""
        call_id = ""
        usage = None
        finished = False
        received = False
        try:
            response = await get_client().chat.completions.create(
                model=self.model,
                messages=messages,
                stream=True,
                stream_options={"include_usage": True},
            )
            async with response:
                async for chunk in response:
                    received = True
                    call_id = call_id or chunk.id or ""
                    if chunk.usage is not None:
                        usage = chunk.usage
                    for choice in chunk.choices:
                        finished = finished or choice.finish_reason is not None
                        if choice.delta is not None and choice.delta.content:
                            yield TextDelta(choice.delta.content)
        except Exception as exc:  # the SDK's and the HTTP layer's errors alike
            if received:
                raise ProviderError("The connection to the model broke off mid-reply.") from exc
            raise ProviderError(describe_error(exc)) from exc
        if not finished and usage is None:
            raise ProviderError("The model stream ended before the reply was finished.")
        yield Usage(
            input_tokens=usage.prompt_tokens if usage else None,
            output_tokens=usage.completion_tokens if usage else None,
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
