"""Reads of accounts data, scoped to their owner."""

from django.http import Http404

from accounts.models import ApiKey


def api_key_list_for_user(*, user) -> list[ApiKey]:
    """Return the user's keys, live ones first, newest first (one query)."""
    return list(ApiKey.objects.filter(user=user).order_by("revoked_at", "-created_at", "-id"))


def api_key_get_for_user(*, user, prefix: str) -> ApiKey:
    """Return the user's key with this prefix, or raise Http404 for missing and foreign alike."""
    key = ApiKey.objects.filter(user=user, prefix=prefix).first()
    if key is None:
        raise Http404("No such key.")
    return key
