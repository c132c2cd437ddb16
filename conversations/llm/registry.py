"""Which provider serves which model: built once per model name, closed per event loop."""

from conversations.llm.base import DEMO_MODEL, Provider
from conversations.llm.demo import DemoProvider
from conversations.llm.openai import OpenAIProvider, reset_clients

_providers: dict[str, Provider] = {}


def get_provider(model: str) -> Provider:
    """Return the provider that serves `model` (built once per model name)."""
    provider = _providers.get(model)
    if provider is None:
        cls = DemoProvider if model == DEMO_MODEL else OpenAIProvider
        provider = _providers[model] = cls(model)
    return provider


async def aclose_providers() -> None:
    """Release every provider's resources on the running loop (before a short-lived loop ends)."""
    for provider in list(_providers.values()):
        await provider.aclose()


def reset_providers() -> None:
    """Forget built providers so changed settings take effect (tests)."""
    _providers.clear()
    reset_clients()
