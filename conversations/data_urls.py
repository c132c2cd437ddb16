from django.urls import path

from conversations import data_views

# Mounted at /settings/data/.
urlpatterns = [
    path("", data_views.data_settings, name="data-settings"),
    path("export/", data_views.data_export, name="data-export"),
]

# Mounted at the site root next to conversations.urls.
conversation_urlpatterns = [
    path("search/", data_views.search, name="search"),
    path("search/open/<str:message_id>/", data_views.search_open, name="search-open"),
    path("bulk/", data_views.conversations_bulk, name="conversations-bulk"),
    path(
        "c/<str:public_id>/export.md",
        data_views.conversation_export,
        {"fmt": "md"},
        name="conversation-export-md",
    ),
    path(
        "c/<str:public_id>/export.json",
        data_views.conversation_export,
        {"fmt": "json"},
        name="conversation-export-json",
    ),
]
