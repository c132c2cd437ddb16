from django.urls import path

from projects import views

urlpatterns = [
    path("", views.project_list, name="projects"),
    path("new/", views.project_create, name="project-create"),
    path("sidebar/", views.project_sidebar, name="project-sidebar"),
    path("move/<str:public_id>/", views.conversation_move, name="conversation-move"),
    path("<str:public_id>/", views.project_detail, name="project"),
    path("<str:public_id>/edit/", views.project_edit, name="project-edit"),
    path("<str:public_id>/delete/", views.project_delete, name="project-delete"),
]
