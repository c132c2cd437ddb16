from django.urls import path

from projects import views

# Mounted at /projects/ before organise.urls.project_urlpatterns, which serves the pages that
# show or change a project's conversations.
urlpatterns = [
    path("", views.project_list, name="projects"),
    path("new/", views.project_create, name="project-create"),
    path("<str:public_id>/edit/", views.project_edit, name="project-edit"),
]
