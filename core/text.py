"""The one check for text from any door: refuse what no database or renderer should see.

PostgreSQL refuses NUL in text (a 500 if it gets that far), lone surrogates cannot be
encoded as UTF-8, and the other C0 controls are never typed by a person. Tab, newline and
carriage return are text.
"""

import re

from django.core.exceptions import ValidationError
from django.utils.text import Truncator

INVALID_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")


def invalid_char_message(value: str) -> str | None:
    """Return why value is refused (naming the first bad character), or None if it is fine."""
    match = INVALID_CHARS.search(value)
    if match is None:
        return None
    return (
        f"Contains a character that is not allowed (U+{ord(match.group()):04X} "
        f"at position {match.start() + 1})."
    )


def clean_text(
    value, *, field: str, max_chars: int | None = None, allow_empty: bool = False
) -> str:
    """Return value if it is acceptable text, else raise ValidationError({field: reason})."""
    if not isinstance(value, str):
        raise ValidationError({field: "Must be text."}, code="invalid")
    if (reason := invalid_char_message(value)) is not None:
        raise ValidationError({field: reason}, code="invalid_characters")
    if not allow_empty and not value.strip():
        raise ValidationError({field: "This field may not be blank."}, code="blank")
    if max_chars is not None and len(value) > max_chars:
        raise ValidationError(
            {field: f"Keep this to {max_chars:,} characters (it has {len(value):,})."},
            code="max_length",
        )
    return value


def clean_metadata(
    value,
    *,
    field: str = "metadata",
    max_keys: int = 16,
    max_key_chars: int = 64,
    max_value_chars: int = 512,
) -> dict[str, str]:
    """Return value if it is a map of at most max_keys short clean strings, else raise."""
    if not isinstance(value, dict):
        raise ValidationError({field: "Metadata must be an object of strings."})
    if len(value) > max_keys:
        raise ValidationError({field: f"At most {max_keys} metadata keys."})
    for key, item in value.items():
        if not isinstance(key, str) or not isinstance(item, str):
            raise ValidationError({field: "Metadata keys and values must be strings."})
        if len(key) > max_key_chars:
            raise ValidationError({field: f"Metadata keys are at most {max_key_chars} characters."})
        if len(item) > max_value_chars:
            raise ValidationError(
                {field: f"Metadata values are at most {max_value_chars} characters."}
            )
        if (reason := invalid_char_message(key)) is not None:
            raise ValidationError({field: f"Metadata key {key!r}: {reason}"})
        if (reason := invalid_char_message(item)) is not None:
            raise ValidationError({field: f"Metadata value of {key!r}: {reason}"})
    return value


def shorten(text: str, limit: int) -> str:
    """Return text on one line, cut to `limit` characters with "…" when longer."""
    return Truncator(" ".join(text.split())).chars(limit, truncate="…")


_MARKUP = re.compile(r"[#*`>~\[]+|\]\([^)]*\)")
# What plain_text changes besides whitespace other than a space (which isprintable() finds).
_NOT_PLAIN = ("#", "*", "`", ">", "~", "[", "|", "](", "  ")


def plain_text(text: str) -> str:
    """Return markdown text on one line without its markup characters (for previews)."""
    if text and _is_plain(text):
        return text
    return " ".join(_MARKUP.sub("", text or "").replace("|", " ").split())


def _is_plain(text: str) -> bool:
    # Stored previews already are (counters.make_preview), and a sidebar page shows a hundred:
    # a few substring scans cost a quarter of the rewrite.
    if not text.isprintable() or text[0] == " " or text[-1] == " ":
        return False
    return all(part not in text for part in _NOT_PLAIN)
