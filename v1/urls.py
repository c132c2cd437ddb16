from django.urls import path, re_path

from v1 import errors, views

app_name = "v1"

urlpatterns = [
    path("conversations", views.ConversationsView.as_view(), name="conversations"),
    path("responses", views.ResponsesView.as_view(), name="responses"),
    path("responses/<str:response_id>", views.ResponseView.as_view(), name="response"),
    path(
        "responses/<str:response_id>/cancel",
        views.ResponseCancelView.as_view(),
        name="response-cancel",
    ),
    path("chat/completions", views.ChatCompletionsView.as_view(), name="chat-completions"),
    path("models", views.ModelsView.as_view(), name="models"),
    path("conversations/bulk-delete", views.BulkDeleteView.as_view(), name="bulk-delete"),
    path("projects", views.ProjectsView.as_view(), name="projects"),
    path(
        "projects/<str:project_id>/conversations",
        views.ProjectConversationsView.as_view(),
        name="project-conversations",
    ),
    path(
        "conversations/<str:conversation_id>/share",
        views.ShareView.as_view(),
        name="share",
    ),
    path(
        "conversations/<str:conversation_id>/share/<str:share_id>",
        views.ShareRevokeView.as_view(),
        name="share-revoke",
    ),
    path(
        "conversations/<str:conversation_id>/items/<str:item_id>/edit",
        views.ItemEditView.as_view(),
        name="item-edit",
    ),
    path(
        "conversations/<str:conversation_id>/items/<str:item_id>/regenerate",
        views.ItemRegenerateView.as_view(),
        name="item-regenerate",
    ),
    path(
        "conversations/<str:conversation_id>/items/<str:item_id>/share",
        views.ItemShareView.as_view(),
        name="item-share",
    ),
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
