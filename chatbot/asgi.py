"""ASGI entry point: HTTP through Django, websockets through Channels."""

import asyncio
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatbot.settings")
django_asgi_app = get_asgi_application()

from asgiref.sync import sync_to_async  # noqa: E402
from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from conversations import engine  # noqa: E402
from conversations.routing import websocket_urlpatterns  # noqa: E402
from core.timezone import TimeZoneASGIMiddleware  # noqa: E402


class ServerStart:
    """Run the server's start-up work once, before its first connection (never on import)."""

    def __init__(self, app):
        self.app = app
        self.pending = True
        self.lock: asyncio.Lock | None = None

    async def __call__(self, scope, receive, send):
        await self.start()
        if scope["type"] == "lifespan":
            await self.lifespan(receive, send)
            return
        await self.app(scope, receive, send)

    async def start(self) -> None:
        if not self.pending:
            return
        self.lock = self.lock or asyncio.Lock()
        async with self.lock:
            if self.pending:
                # Replies left in_progress by a process that died are marked incomplete.
                await sync_to_async(engine.sweep_at_startup, thread_sensitive=False)()
                self.pending = False

    async def lifespan(self, receive, send) -> None:
        # Servers that speak the lifespan protocol (not daphne) get it answered here.
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return


application = ServerStart(
    ProtocolTypeRouter(
        {
            "http": django_asgi_app,
            "websocket": AllowedHostsOriginValidator(
                AuthMiddlewareStack(TimeZoneASGIMiddleware(URLRouter(websocket_urlpatterns)))
            ),
        }
    )
)
