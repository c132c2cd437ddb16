"""Writes to accounts: API keys."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import ApiKey, hash_key
from core.text import clean_text

# "sk-chat-" and 8 random characters: enough to tell keys apart and to name one in a URL.
PREFIX_CHARS = 16
NAME_MAX_CHARS = ApiKey._meta.get_field("name").max_length


def api_key_create(*, user, name: str = "") -> tuple[ApiKey, str]:
    """Create an API key for user; return it with the raw key, which is never stored."""
    clean_text(name, field="name", allow_empty=True)
    name = " ".join(name.split())
    if len(name) > NAME_MAX_CHARS:
        raise ValidationError({"name": f"Keep the name to {NAME_MAX_CHARS} characters."})
    with transaction.atomic():
        raw_key = ApiKey.generate()
        # The prefix names the key in the settings page, so keep it unique per user.
        while ApiKey.objects.filter(user=user, prefix=raw_key[:PREFIX_CHARS]).exists():
            raw_key = ApiKey.generate()
        api_key = ApiKey.objects.create(
            user=user,
            name=name,
            prefix=raw_key[:PREFIX_CHARS],
            key_hash=hash_key(raw_key),
        )
    return api_key, raw_key


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    """Revoke a key; requests with it fail from now on (revoking twice keeps the first time)."""
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    return api_key
