from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm, UserCreationForm


class NoColonMixin:
    """Label fields "Password", not "Password:"."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class LoginForm(NoColonMixin, AuthenticationForm):
    pass


class PasswordForm(NoColonMixin, PasswordChangeForm):
    pass


class SignupForm(NoColonMixin, UserCreationForm):
    """Create an account with a username and a password (typed twice)."""

    class Meta(UserCreationForm.Meta):
        fields = ("username",)
