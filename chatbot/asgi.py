"""ASGI entry point: HTTP through Django, websockets through Channels."""

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatbot.settings")
django_asgi_app = get_asgi_application()

from asgiref.sync import ThreadSensitiveContext, sync_to_async  # noqa: E402
from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from conversations import engine  # noqa: E402
from conversations.routing import websocket_urlpatterns  # noqa: E402
from core.timezone import TimeZoneASGIMiddleware  # noqa: E402


class SyncThreads:
    """Run every request's sync code (views, middleware) on a few long-lived threads.

    Django gives each request a thread of its own: a hundred requests at once are a hundred
    threads taking turns with the event loop for the GIL, and the loop, which relays every
    streamed token, got a small share of it. Here a request runs on the least busy of
    SYNC_THREADS threads (one thread per request still, as Django's thread-sensitive mode
    wants); requests beyond that wait their turn instead of slowing the streams.
    """

    def __init__(self, app, threads: int):
        self.app = app
        self.executors = [
            ThreadPoolExecutor(1, thread_name_prefix=f"http-{i}") for i in range(threads)
        ]
        self.busy = [0] * threads

    async def __call__(self, scope, receive, send):
        index = min(range(len(self.busy)), key=self.busy.__getitem__)
        self.busy[index] += 1
        try:
            async with ThreadSensitiveContext(executor=self.executors[index]):
                await self.app(scope, receive, send)
        finally:
            self.busy[index] -= 1


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
            "http": SyncThreads(django_asgi_app, settings.SYNC_THREADS)
            if settings.SYNC_THREADS
            else django_asgi_app,
            "websocket": AllowedHostsOriginValidator(
                AuthMiddlewareStack(TimeZoneASGIMiddleware(URLRouter(websocket_urlpatterns)))
            ),
        }
    )
)
