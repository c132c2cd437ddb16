"""Reads of accounts data, scoped to their owner."""

from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, get_user_model
from django.http import Http404
from django.utils.crypto import constant_time_compare

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


def session_signs_in(*, user_id: int, session) -> bool:
    """Return whether session still signs in user_id (active, and its password unchanged)."""
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    session_hash = session.get(HASH_SESSION_KEY) if session is not None else None
    if user is None or not session_hash:
        return False
    # As django.contrib.auth.get_user: the current secret, then each fallback.
    hashes = [user.get_session_auth_hash()] + [
        user._get_session_auth_hash(secret=secret) for secret in settings.SECRET_KEY_FALLBACKS
    ]
    return any(constant_time_compare(session_hash, expected) for expected in hashes)
