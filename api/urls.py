"""The /api routes: the DRF door, its OpenAPI schema and docs page."""

from django.conf import settings
from django.urls import path
from django.utils.csp import CSP
from django.views.decorators.csp import csp_override
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from api import sse
from api.views import conversations, messages, projects, shares

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
        conversations.ConversationListView.as_view(),
        name="api-conversations",
    ),
    path(
        "conversations/bulk-delete/",
        conversations.ConversationBulkDeleteView.as_view(),
        name="api-conversations-bulk-delete",
    ),
    path(
        "conversations/<str:public_id>/",
        conversations.ConversationDetailView.as_view(),
        name="api-conversation",
    ),
    path(
        "conversations/<str:public_id>/messages/",
        messages.MessageSendView.as_view(),
        name="api-messages-send",
    ),
    path(
        "conversations/<str:public_id>/stop/",
        messages.ConversationStopView.as_view(),
        name="api-conversation-stop",
    ),
    path(
        "messages/<str:public_id>/",
        messages.MessageDetailView.as_view(),
        name="api-message",
    ),
    path(
        "messages/<str:public_id>/events/",
        sse.message_events,
        name="api-message-events",
    ),
    path(
        "messages/<str:public_id>/edit/",
        messages.MessageEditView.as_view(),
        name="api-message-edit",
    ),
    path(
        "messages/<str:public_id>/regenerate/",
        messages.MessageRegenerateView.as_view(),
        name="api-message-regenerate",
    ),
    path(
        "messages/<str:public_id>/continue/",
        messages.MessageContinueView.as_view(),
        name="api-message-continue",
    ),
    path(
        "messages/<str:public_id>/branch/",
        messages.MessageBranchView.as_view(),
        name="api-message-branch",
    ),
    path(
        "messages/<str:public_id>/siblings/",
        messages.MessageSiblingsView.as_view(),
        name="api-message-siblings",
    ),
    path(
        "messages/<str:public_id>/feedback/",
        messages.MessageFeedbackView.as_view(),
        name="api-message-feedback",
    ),
    path("projects/", projects.ProjectListView.as_view(), name="api-projects"),
    path("projects/<str:public_id>/", projects.ProjectDetailView.as_view(), name="api-project"),
    path(
        "projects/<str:public_id>/conversations/",
        conversations.ProjectConversationsView.as_view(),
        name="api-project-conversations",
    ),
    path(
        "conversations/<str:public_id>/shares/",
        shares.ConversationShareView.as_view(),
        name="api-conversation-shares",
    ),
    path("shares/", shares.ShareListView.as_view(), name="api-shares"),
    path("shares/<str:token>/", shares.ShareDetailView.as_view(), name="api-share"),
]
