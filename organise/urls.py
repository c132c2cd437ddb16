from django.urls import path

from organise import views

# Mounted at /settings/data/.
settings_urlpatterns = [
    path("", views.data_settings, name="data-settings"),
    path("export/", views.data_export, name="data-export"),
]

# Mounted at /projects/, after projects.urls.
project_urlpatterns = [
    path("sidebar/", views.project_sidebar, name="project-sidebar"),
    path("move/<str:public_id>/", views.conversation_move, name="conversation-move"),
    path("<str:public_id>/", views.project_detail, name="project"),
    path("<str:public_id>/delete/", views.project_delete, name="project-delete"),
]

# Mounted at the site root next to conversations.urls.
urlpatterns = [
    path("search/", views.search, name="search"),
    path("search/open/<str:message_id>/", views.search_open, name="search-open"),
    path("bulk/", views.conversations_bulk, name="conversations-bulk"),
    path(
        "c/<str:public_id>/export.md",
        views.conversation_export,
        {"fmt": "md"},
        name="conversation-export-md",
    ),
    path(
        "c/<str:public_id>/export.json",
        views.conversation_export,
        {"fmt": "json"},
        name="conversation-export-json",
    ),
]
