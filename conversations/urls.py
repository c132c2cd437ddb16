from django.urls import path

from conversations import views

urlpatterns = [
    path("", views.home, name="home"),
    path("send/", views.send_new, name="send"),
    path("sidebar/", views.sidebar, name="sidebar"),
    path("archived/", views.archived, name="archived"),
    path("c/<str:public_id>/", views.conversation_detail, name="conversation"),
    path("c/<str:public_id>/messages/", views.thread_messages, name="conversation-messages"),
    path("c/<str:public_id>/stop/", views.stop, name="conversation-stop"),
    path("c/<str:public_id>/actions/", views.actions, name="conversation-actions"),
    path("c/<str:public_id>/rename/", views.rename, name="conversation-rename"),
    path("c/<str:public_id>/pin/", views.pin, name="conversation-pin"),
    path("c/<str:public_id>/archive/", views.archive, name="conversation-archive"),
    path("c/<str:public_id>/delete/", views.delete, name="conversation-delete"),
    path("m/<str:message_id>/regenerate/", views.regenerate, name="message-regenerate"),
    path("m/<str:message_id>/continue/", views.continue_reply, name="message-continue"),
    path("m/<str:message_id>/edit/", views.edit, name="message-edit"),
    path("m/<str:message_id>/switch/", views.switch_branch, name="message-switch"),
    path("m/<str:message_id>/branch/", views.branch_new_chat, name="message-branch"),
    path("m/<str:message_id>/feedback/", views.message_feedback, name="message-feedback"),
]
