from django.conf import settings
from django.urls import path
from django.utils.csp import CSP
from django.views.decorators.csp import csp_override
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from api.views import conversations as conversations_api
from projects import api as projects_api
from sharing import api as sharing_api

# Swagger UI's page carries an inline <style> and sets styles at runtime; its script is a
# separate file (the split view), so only style-src needs loosening, and only here.
DOCS_CSP = settings.SECURE_CSP | {"style-src": [CSP.SELF, CSP.UNSAFE_INLINE]}

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "docs/",
        csp_override(DOCS_CSP)(SpectacularSwaggerSplitView.as_view(url_name="api-schema")),
        name="api-docs",
    ),
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
        "messages/<str:public_id>/events/",
        conversations_api.message_events,
        name="api-message-events",
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
    path("projects/", projects_api.ProjectListView.as_view(), name="api-projects"),
    path("projects/<str:public_id>/", projects_api.ProjectDetailView.as_view(), name="api-project"),
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
