"""Bearer API key authentication for DRF (and the /v1 API)."""

import math
from datetime import timedelta

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from accounts.models import ApiKey, hash_key
from accounts.throttling import client_address, credential_failed, credential_locked

# last_used_at is a display hint; writing it on every request would turn reads into writes.
LAST_USED_RESOLUTION = timedelta(minutes=1)
BEARER_CHALLENGE = 'Bearer realm="api"'


def api_key_authenticate(raw_key: str) -> ApiKey | None:
    """Return the active key matching raw_key (with its user), or None."""
    try:
        api_key = (
            ApiKey.objects.active()
            .select_related("user")
            .get(key_hash=hash_key(raw_key), user__is_active=True)
        )
    except ApiKey.DoesNotExist:
        return None
    now = timezone.now()
    if api_key.last_used_at is None or now - api_key.last_used_at >= LAST_USED_RESOLUTION:
        # A filtered UPDATE so concurrent requests don't all write.
        ApiKey.objects.filter(pk=api_key.pk).exclude(
            last_used_at__gt=now - LAST_USED_RESOLUTION
        ).update(last_used_at=now)
        api_key.last_used_at = now
    return api_key


class ApiKeyAuthentication(BaseAuthentication):
    """Authenticate `Authorization: Bearer <key>`; request.auth is the ApiKey."""

    keyword = "Bearer"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None
        address = client_address(request)
        # An address in its cool-down gets no key checked, the right one included: otherwise
        # guessing would go on, only answered differently.
        if (wait := credential_locked(scope="api_key", address=address)) is not None:
            raise exceptions.Throttled(wait=math.ceil(wait))
        if len(parts) != 2:
            credential_failed(scope="api_key", address=address)
            raise exceptions.AuthenticationFailed(
                "Invalid Authorization header. Expected 'Bearer <key>'."
            )
        try:
            raw_key = parts[1].decode()
        except UnicodeDecodeError:
            credential_failed(scope="api_key", address=address)
            raise exceptions.AuthenticationFailed("Invalid API key.") from None
        api_key = api_key_authenticate(raw_key)
        if api_key is None:
            # Revoked keys, keys of deactivated accounts and guesses alike.
            credential_failed(scope="api_key", address=address)
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        return (api_key.user, api_key)

    def authenticate_header(self, request):
        return BEARER_CHALLENGE


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    """Describe Bearer API keys in the OpenAPI schema."""

    target_class = ApiKeyAuthentication
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key from /settings/keys/ or `manage.py create_api_key`.",
        }
