from django.contrib import admin
from django.urls import include, path

from conversations.data_urls import conversation_urlpatterns as organise_urlpatterns

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("settings/keys/", include("accounts.keys_urls")),
    path("settings/data/", include("conversations.data_urls")),
    path("projects/", include("projects.urls")),
    path("api/", include("api.urls")),
    path("v1/", include("v1.urls")),
    path("", include(organise_urlpatterns)),
    path("", include("sharing.urls")),
    path("", include("conversations.urls")),
]
