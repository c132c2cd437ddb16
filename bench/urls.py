"""The project's URLs plus two bench-only endpoints; used only through bench.settings."""

from django.urls import include, path

from bench import views

urlpatterns = [
    path("bench/bare.json", views.bare, name="bench-bare"),
    path("bench/sidebar.json", views.sidebar, name="bench-sidebar"),
    path("", include("chatbot.urls")),
]
