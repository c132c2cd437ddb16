from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm, UserCreationForm
from django.core.exceptions import ValidationError

from accounts.throttling import client_address, cooldown_message, credential_locked


class NoColonMixin:
    """Label fields "Password", not "Password:"."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class ThrottledLoginMixin:
    """Refuse to check a password while its account or address is in a cool-down.

    Failures are counted by the `user_login_failed` receiver (accounts/signals.py), so every
    form that calls authenticate() with the request counts; this only says "wait".
    """

    def clean(self):
        if self.request is not None:
            wait = credential_locked(
                scope="login",
                account=self.cleaned_data.get("username"),
                address=client_address(self.request),
            )
            if wait is not None:
                raise ValidationError(cooldown_message(wait), code="throttled")
        return super().clean()


class LoginForm(NoColonMixin, ThrottledLoginMixin, AuthenticationForm):
    pass


class AdminLoginForm(ThrottledLoginMixin, AdminAuthenticationForm):
    pass


class PasswordForm(NoColonMixin, PasswordChangeForm):
    pass


class SignupForm(NoColonMixin, UserCreationForm):
    """Create an account with a username and a password (typed twice)."""

    class Meta(UserCreationForm.Meta):
        fields = ("username",)
