"""Short conversation titles from the first message."""

import logging
import re

from django.conf import settings

from conversations.llm import DEMO_MODEL, TITLE_MAX_CHARS, ProviderError, derive_title, get_provider
from core.text import shorten

logger = logging.getLogger(__name__)

QUOTES = "\"'“”‘’#*` "
TITLE_PROMPT = (
    "Write a title of at most six words for a conversation that starts with the user's "
    "message below. Answer with the title only, no quotes and no final period."
)


async def generate_title(first_message: str) -> str:
    """Return a short title from TITLE_MODEL, or one derived from the message on any error."""
    model = settings.TITLE_MODEL
    if model == DEMO_MODEL:
        return derive_title(first_message)
    try:
        raw = await get_provider(model).complete(
            [
                {"role": "system", "content": TITLE_PROMPT},
                {"role": "user", "content": first_message[:2000]},
            ],
            max_tokens=24,
        )
    except ProviderError as exc:
        logger.warning("Title generation failed: %s", exc.reason)
        return derive_title(first_message)
    return clean_title(raw) or derive_title(first_message)


MARKDOWN_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
MARKDOWN_MARKERS = re.compile(r"\*\*|__|~~|[*`]|^#+\s*|^>\s*")


def clean_title(raw: str) -> str:
    """Return a model's title as plain text on one line, unquoted and bounded in length."""
    line = " ".join(raw.strip().splitlines()[0].split()) if raw.strip() else ""
    # Titles are shown as plain text: markdown markers would be read literally.
    line = MARKDOWN_MARKERS.sub("", MARKDOWN_LINK.sub(r"\1", line)).strip()
    line = re.sub(r"^title\s*:\s*", "", line, flags=re.IGNORECASE)
    line = line.strip(QUOTES).rstrip(".").strip(QUOTES)
    return shorten(line, TITLE_MAX_CHARS)
