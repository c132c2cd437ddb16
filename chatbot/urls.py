from django.contrib import admin
from django.urls import include, path

from organise.urls import project_urlpatterns, settings_urlpatterns

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("settings/keys/", include("accounts.keys_urls")),
    path("settings/data/", include(settings_urlpatterns)),
    # projects.urls first: its "new/" would otherwise be read as a project id.
    path("projects/", include("projects.urls")),
    path("projects/", include(project_urlpatterns)),
    path("api/", include("api.urls")),
    path("v1/", include("v1.urls")),
    path("", include("organise.urls")),
    path("", include("sharing.urls")),
    path("", include("conversations.urls")),
]
