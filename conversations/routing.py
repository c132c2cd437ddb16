"""Websocket routes: the user's updates, and a conversation's messages and streams."""

from django.urls import path

from conversations.consumers import ChatConsumer

websocket_urlpatterns = [
    path("ws/chat/", ChatConsumer.as_asgi()),
    path("ws/chat/<str:public_id>/", ChatConsumer.as_asgi()),
]
