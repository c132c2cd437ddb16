from django.urls import path

from sharing import views

urlpatterns = [
    path("s/<str:token>/", views.share_view, name="share-view"),
    path("s/<str:token>/continue/", views.share_continue, name="share-continue"),
    path("robots.txt", views.robots_txt, name="robots-txt"),
    path("c/<str:public_id>/share/", views.share_dialog, name="share-dialog"),
    path("shared/", views.shared_links, name="shared-links"),
    path("shared/revoke-all/", views.share_revoke_all, name="share-revoke-all"),
    path("shared/<str:token>/revoke/", views.share_revoke, name="share-revoke"),
]
