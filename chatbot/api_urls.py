from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from conversations import api as conversations_api
from sharing import api as sharing_api

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "conversations/",
        conversations_api.ConversationListView.as_view(),
        name="api-conversations",
    ),
    path(
        "conversations/bulk-delete/",
        conversations_api.ConversationBulkDeleteView.as_view(),
        name="api-conversations-bulk-delete",
    ),
    path(
        "conversations/<str:public_id>/",
        conversations_api.ConversationDetailView.as_view(),
        name="api-conversation",
    ),
    path(
        "conversations/<str:public_id>/messages/",
        conversations_api.MessageSendView.as_view(),
        name="api-messages-send",
    ),
    path(
        "conversations/<str:public_id>/stop/",
        conversations_api.ConversationStopView.as_view(),
        name="api-conversation-stop",
    ),
    path(
        "messages/<str:public_id>/",
        conversations_api.MessageDetailView.as_view(),
        name="api-message",
    ),
    path(
        "messages/<str:public_id>/edit/",
        conversations_api.MessageEditView.as_view(),
        name="api-message-edit",
    ),
    path(
        "messages/<str:public_id>/regenerate/",
        conversations_api.MessageRegenerateView.as_view(),
        name="api-message-regenerate",
    ),
    path(
        "messages/<str:public_id>/siblings/",
        conversations_api.MessageSiblingsView.as_view(),
        name="api-message-siblings",
    ),
    path(
        "projects/<str:public_id>/conversations/",
        conversations_api.ProjectConversationsView.as_view(),
        name="api-project-conversations",
    ),
    path(
        "conversations/<str:public_id>/shares/",
        sharing_api.ConversationShareView.as_view(),
        name="api-conversation-shares",
    ),
    path("shares/", sharing_api.ShareListView.as_view(), name="api-shares"),
    path("shares/<str:token>/", sharing_api.ShareDetailView.as_view(), name="api-share"),
]
