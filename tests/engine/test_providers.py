"""Providers against the real local OpenAI-format server, and the offline demo model."""

import pytest

from conversations.engine.titles import clean_title
from conversations.llm import ProviderError, TextDelta, Usage, derive_title, get_provider
from conversations.llm.demo import compose_reply

QUESTION = [{"role": "user", "content": "Hello?"}]


async def collect(provider, messages=QUESTION) -> list:
    return [event async for event in provider.stream(messages)]


async def test_stream_yields_deltas_then_the_reported_usage(fake_openai):
    events = await collect(get_provider("fake-model"))
    *deltas, usage = events
    assert [d.text for d in deltas] == fake_openai.tokens
    assert all(isinstance(d, TextDelta) for d in deltas)
    assert usage == Usage(
        input_tokens=fake_openai.usages[0]["prompt_tokens"],
        output_tokens=len(fake_openai.tokens),
        call_id=usage.call_id,
    )
    assert usage.call_id.startswith("chatcmpl-")
    sent = fake_openai.requests[0]
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}
    assert sent["messages"] == QUESTION and sent["model"] == "fake-model"


async def test_stream_without_usage_reports_none(fake_openai):
    fake_openai.include_usage = False
    *_, usage = await collect(get_provider("fake-model"))
    assert usage.input_tokens is None and usage.output_tokens is None


async def test_error_status_raises_with_the_upstream_message(fake_openai):
    fake_openai.fail_status, fake_openai.fail_times = 500, 1
    with pytest.raises(ProviderError, match="answered 500: The fake upstream failed"):
        await collect(get_provider("fake-model"))


async def test_server_errors_are_retried_before_the_first_token(fake_openai, settings):
    from conversations.llm import reset_providers

    settings.OPENAI_MAX_RETRIES = 2
    reset_providers()
    fake_openai.fail_status, fake_openai.fail_times = 503, 1
    events = await collect(get_provider("fake-model"))
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == fake_openai.reply
    assert len(fake_openai.requests) == 2


async def test_cut_mid_stream_raises_after_the_received_deltas(fake_openai):
    fake_openai.cut_after = 3
    received = []
    with pytest.raises(ProviderError, match="broke off mid-reply"):
        async for event in get_provider("fake-model").stream(QUESTION):
            received.append(event.text)
    assert received == fake_openai.tokens[:3]


async def test_slow_tokens_all_arrive(fake_openai):
    fake_openai.token_delay = 0.05
    events = await collect(get_provider("fake-model"))
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == fake_openai.reply


async def test_unreachable_endpoint_fails_clearly(fake_openai, settings):
    from conversations.llm import reset_providers

    settings.OPENAI_BASE_URL = "http://127.0.0.1:9/v1"
    reset_providers()
    with pytest.raises(ProviderError, match="Could not reach the model endpoint"):
        await collect(get_provider("fake-model"))


async def test_demo_model_streams_markdown_word_by_word(settings):
    settings.DEMO_TOKEN_DELAY = 0
    events = await collect(get_provider("demo"), [{"role": "user", "content": "Explain tides"}])
    *deltas, usage = events
    text = "".join(d.text for d in deltas)
    assert len(deltas) > 30
    assert text == compose_reply("Explain tides")
    for part in ("## Explain tides", "- **Explain**", "```python", "| word | letters |"):
        assert part in text
    assert usage.output_tokens > 0


def test_titles_are_short_single_lines():
    assert derive_title("  how do I bake sourdough bread at home?\nmore") == (
        "How do I bake sourdough bread"
    )
    assert derive_title("") == "New chat"
    assert clean_title('Title: "Tides explained."\nextra') == "Tides explained"
    assert len(clean_title("x" * 500)) == 60


def test_clean_title_strips_markdown_markers():
    assert clean_title("**Answer** to: Tell me about `tides`") == "Answer to: Tell me about tides"
    assert clean_title("## [Tides](https://x.example) explained") == "Tides explained"
