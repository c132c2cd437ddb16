from django.apps import AppConfig


class ConversationsConfig(AppConfig):
    name = "conversations"

    def ready(self):
        # Connects the logout receiver that closes the session's websockets.
        from conversations import consumers  # noqa: F401
