from django.contrib.auth import views as auth_views
from django.urls import path

from accounts import views
from accounts.forms import PasswordForm

urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("signup/", views.signup, name="signup"),
    path(
        "password/",
        auth_views.PasswordChangeView.as_view(form_class=PasswordForm),
        name="password_change",
    ),
    path(
        "password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
]
