"""Receivers: count failed logins, and end an account's other sessions when it changes.

Django already refuses other sessions over HTTP after a password change (the session hash)
or a deactivation (the backend); their websockets stay open unless told, so every socket of
the user is asked to re-check its session (conversations.consumers.user_sessions_ended).
"""

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db.models.signals import post_init, post_save
from django.dispatch import receiver

from accounts.throttling import client_address, credential_failed, credential_succeeded
from core import events

# The fields whose change ends other sessions: the password (any change, reset included)
# and is_active (a deactivation).
AUTH_FIELDS = ("password", "is_active")


@receiver(user_login_failed, dispatch_uid="accounts.count_failed_login")
def count_failed_login(sender, credentials, request=None, **kwargs):
    """Count a failed login against its account and its client address."""
    if request is None:  # authenticate() outside a request: a command, a test's login()
        return
    credential_failed(
        scope="login",
        account=credentials.get("username"),
        address=client_address(request),
    )


@receiver(user_logged_in, dispatch_uid="accounts.clear_failed_logins")
def clear_failed_logins(sender, request, user, **kwargs):
    """Forget an account's failed logins once it signed in."""
    credential_succeeded(scope="login", account=user.get_username())


def _auth_state(user) -> tuple:
    # __dict__, not getattr: a deferred field must not cost a query on every load.
    return tuple(user.__dict__.get(field) for field in AUTH_FIELDS)


@receiver(post_init, sender=settings.AUTH_USER_MODEL, dispatch_uid="accounts.remember_auth")
def remember_auth_state(sender, instance, **kwargs):
    instance._auth_state = _auth_state(instance)


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="accounts.end_sessions")
def end_other_sessions(sender, instance, created, **kwargs):
    """Close the user's sockets whose session no longer signs in (after commit)."""
    before = getattr(instance, "_auth_state", None)
    instance._auth_state = now = _auth_state(instance)
    if created or before is None:
        return
    (old_password, was_active), (password, is_active) = before, now
    password_changed = old_password is not None and password != old_password
    if password_changed or (was_active and is_active is False):
        events.user_sessions_ended(user_id=instance.pk)
