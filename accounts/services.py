"""Writes to accounts: API keys."""

from django.db import transaction
from django.utils import timezone

from accounts.models import ApiKey, hash_key

PREFIX_CHARS = 12


def api_key_create(*, user, name: str = "") -> tuple[ApiKey, str]:
    """Create an API key for user; return it with the raw key, which is never stored."""
    raw_key = ApiKey.generate()
    with transaction.atomic():
        api_key = ApiKey.objects.create(
            user=user,
            name=name.strip()[: ApiKey._meta.get_field("name").max_length],
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
