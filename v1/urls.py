from django.urls import path, re_path

from v1 import errors, views

app_name = "v1"

urlpatterns = [
    path("conversations", views.ConversationsView.as_view(), name="conversations"),
    path(
        "conversations/<str:conversation_id>",
        views.ConversationView.as_view(),
        name="conversation",
    ),
    path(
        "conversations/<str:conversation_id>/items",
        views.ItemsView.as_view(),
        name="items",
    ),
    path(
        "conversations/<str:conversation_id>/items/<str:item_id>",
        views.ItemView.as_view(),
        name="item",
    ),
    re_path(r"^(?P<path>.*)$", errors.unknown_url),
]
