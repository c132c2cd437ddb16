"""Fixtures for the generation engine: a conversation and helpers to wait for final states."""

import time

import pytest

from conversations.models import Message
from tests.factories import ConversationFactory


@pytest.fixture
def conversation(owner):
    return ConversationFactory(owner=owner, title="")


@pytest.fixture
def fast_engine(settings):
    """Make flushes and timeouts short enough for tests."""
    settings.GENERATION_FLUSH_INTERVAL = 0.05
    settings.GENERATION_TIMEOUT = 2
    return settings


def wait_final(message: Message, timeout: float = 10) -> Message:
    """Poll until the message leaves `in_progress`; return it fresh from the database."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message.refresh_from_db()
        if message.status != Message.Status.IN_PROGRESS:
            return message
        time.sleep(0.02)
    raise AssertionError(f"{message.public_id} still in progress after {timeout}s")


def session_cookie(user) -> str:
    """Sign the user in through a real session; return the Cookie header for a websocket."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    client.get("/")  # sets the CSRF cookie when the page renders a form; harmless otherwise
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


async def open_socket(path: str, cookie: str = ""):
    """Connect a WebsocketCommunicator to the real ASGI application; return (communicator, ok)."""
    from channels.testing import WebsocketCommunicator

    from chatbot.asgi import application

    headers = [(b"origin", b"http://testserver"), (b"host", b"testserver")]
    if cookie:
        headers.append((b"cookie", cookie.encode()))
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await communicator.connect(timeout=5)
    return communicator, connected


async def frames_until(communicator, predicate, timeout: float = 10) -> list[str]:
    """Receive frames until one satisfies predicate; return them all but sidebar refreshes."""
    import asyncio

    frames = []
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        remaining = deadline - asyncio.get_running_loop().time()
        frame = await communicator.receive_from(timeout=max(remaining, 0.01))
        if 'id="sidebar-refresh"' in frame:
            continue
        frames.append(frame)
        if predicate(frame):
            return frames


@pytest.fixture(autouse=True, scope="session")
def close_engine_connections(django_db_setup, django_db_blocker):
    """Close the engine threads' connections before the test database is dropped."""
    yield
    from conversations.engine import close_db_connections

    with django_db_blocker.unblock():
        close_db_connections()
