"""Websockets that deliver a user's live updates as HTML frames for htmx's ws extension.

`/ws/chat/` joins the user's group (sidebar updates); `/ws/chat/<conversation>/` also joins
that conversation's group (new messages, streamed replies). Sockets only deliver: every
write goes through the services, every read through the ownership selectors.
"""

import asyncio
from functools import cache, partial

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth.signals import user_logged_out
from django.dispatch import receiver
from django.http import Http404
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.html import escape

from accounts.selectors import session_signs_in
from conversations.engine import CSRF_FIELD, messages_created_render
from conversations.engine.blocks import frame_html, tail_frame
from conversations.models import Conversation, Message
from conversations.selectors import (
    conversation_get_for_user,
    message_generating,
    message_sibling_positions,
)
from core import events

MESSAGE_TEMPLATE = "conversations/_message.html"


def render_message(message: Message, *, position: int = 1, count: int = 1, csrf_token="") -> str:
    """Render a message through the canonical partial (root element `message-<public id>`)."""
    return render_to_string(
        MESSAGE_TEMPLATE,
        {"message": message, "position": position, "count": count, "csrf_token": csrf_token},
    )


@cache
def sidebar_refresh_html() -> str:
    """Return the element that makes the page re-fetch its sidebar list."""
    return render_to_string("base.html#sidebar-refresh-oob")


def thread_refresh_html(conversation_public_id: str) -> str:
    """Return the element that makes the page re-fetch the thread of the active branch."""
    return render_to_string(
        "conversations/chat.html#thread-refresh-oob",
        {"conversation_public_id": conversation_public_id},
    )


class ChatConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        user = self.scope["user"]
        self.ended = False
        self.conversation = None
        # Per streaming reply: the last frame relayed (None: waiting for a resync), the
        # frames not yet sent (merged), and the replies whose final frame was sent.
        self.seqs: dict[str, int | None] = {}
        self.pending: dict[str, dict] = {}
        self.finished: set[str] = set()
        self.tails_sent: set[str] = set()
        # Short names of replies in this socket's tail frames (blocks.tail_frame).
        self.aliases: dict[str, int] = {}
        self.sender: asyncio.Task | None = None
        if not user.is_authenticated:
            await self.close()
            return
        public_id = self.scope["url_route"]["kwargs"].get("public_id")
        if public_id is not None:
            try:
                self.conversation = await database_sync_to_async(conversation_get_for_user)(
                    user=user, public_id=public_id
                )
            except Http404:
                await self.close()
                return
        wanted = [events.user_group(user.pk)]
        if self.conversation is not None:
            wanted.append(events.conversation_group(self.conversation.public_id))
        session = self.scope.get("session")
        if session is not None and session.session_key:
            wanted.append(events.session_group(session.session_key))
        for group in wanted:
            await self.channel_layer.group_add(group, self.channel_name)
            # The base class leaves these groups on disconnect.
            self.groups.append(group)
        await self.accept()
        if self.conversation is not None:
            current = await database_sync_to_async(self._load_generating)()
            if current is not None:
                # The stored partial now; the engine's whole frame, then live frames, follow.
                await self.send(text_data=self._render(*current))
                await self._resync(current[0].public_id)

    async def __call__(self, scope, receive, send):
        """Channels' consumer loop, with one long-lived task reading each source of events.

        Channels' own loop (`channels.utils.await_many_dispatch`) makes a new task for every
        event and waits on both sources with `asyncio.wait`; without that, one sidebar change
        to 2,000 sockets took about 30 % less of the server's CPU and time (bench/README.md,
        Streams, 2026-12-07). Here the client's messages and the channel layer's events are
        each read by a loop of their own; the handlers still run one at a time, and a
        StopConsumer (or an error) from either ends the consumer as before.
        """
        self.scope = scope
        self.base_send = send
        self.channel_layer = get_channel_layer(self.channel_layer_alias)
        reads = [receive]
        if self.channel_layer is not None:
            self.channel_name = await self.channel_layer.new_channel()
            reads.append(partial(self.channel_layer.receive, self.channel_name))
        turn = asyncio.Lock()

        async def relay(read):
            while True:
                message = await read()
                async with turn:
                    await self.dispatch(message)

        relays = [asyncio.ensure_future(relay(read)) for read in reads]
        try:
            done, _ = await asyncio.wait(relays, return_when=asyncio.FIRST_COMPLETED)
            for relay_task in done:
                relay_task.result()
        except StopConsumer:
            pass
        finally:
            for relay_task in relays:
                relay_task.cancel()
            await asyncio.gather(*relays, return_exceptions=True)

    async def dispatch(self, message):
        """Run the event's handler, without Channels' database clean-up before each one.

        Channels hops to a thread to close stale database connections before every handler:
        for a socket relaying a frame every few dozen milliseconds, that hop (through the one
        thread they all share) cost more than the frame. The handlers here that touch the
        database go through database_sync_to_async, which does that clean-up itself.
        """
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def disconnect(self, code):
        if getattr(self, "sender", None) is not None:
            self.sender.cancel()

    async def receive(self, text_data=None, bytes_data=None):
        """Ignore input: sending, stopping and branching go through HTTP and the services."""

    # Group events ---------------------------------------------------------------------------

    async def sidebar_changed(self, event):
        if self.ended:
            return
        frame = sidebar_refresh_html()
        if (
            self.conversation is not None
            and event.get("conversation_id") == self.conversation.public_id
            and "token_count" in event
        ):
            # Its counters changed: the header's token total rides in the same frame.
            frame += self._token_total_frame(event["token_count"])
        if not self.ended:
            await self.send(text_data=frame)

    async def message_created(self, event):
        if self.ended:
            return
        for public_id in event["message_ids"]:
            self._forget_stream(public_id)  # a continued reply streams again
        html = event.get("html")
        if html and event.get("zone") == timezone.get_current_timezone_name():
            # Rendered once by the sender, in this socket's zone: no query, no render here.
            await self.send(text_data=self._with_csrf(html))
            return
        # A browser in another zone than the sender's shows its own times (rare: one render).
        html = await database_sync_to_async(self._created_html)(
            event["message_ids"], event.get("replaces", "")
        )
        if html:
            await self.send(text_data=self._with_csrf(html))

    async def generation_delta(self, event):
        """Relay a frame the engine rendered once: no render and no query here."""
        public_id = event["message_id"]
        if self.ended or public_id in self.finished:
            return  # a late frame of a reply that has ended: its final frame wins
        last = self.seqs.get(public_id, 0)
        seq = event["seq"]
        if last is None or seq <= last:
            return  # waiting for the engine's whole frame, or already covered by it
        if seq != last + 1 and not event["reset"]:
            await self._resync(public_id)  # a frame was lost on the way: ask for the whole
            return
        self.seqs[public_id] = seq
        pending = self.pending.get(public_id)
        if pending is None or event["reset"]:
            # The engine's frame as it is when it fits what this socket shows: its tail delta
            # applies on top of a tail this socket was sent (or replaces it whole).
            fits = event["reset"] or public_id in self.tails_sent or not event["tail_keep"]
            self.pending[public_id] = {
                "seq": seq,
                "append": event["append_html"],
                "replace": event["reset"],
                "keep": event["tail_keep"] if fits else 0,
                "delta": event["tail_delta"] if fits else event["tail_html"],
                "html": event.get("html") if fits else None,
            }
        else:
            # A socket that falls behind sends the frames it missed as one: stale tails go.
            pending["seq"] = seq
            pending["append"] += event["append_html"]
            pending["keep"], pending["delta"], pending["html"] = 0, event["tail_html"], None
        self._schedule_send()

    async def generation_frame(self, event):
        """Replace the reply's blocks and tail with the engine's whole state (a resync)."""
        public_id = event["message_id"]
        last = self.seqs.get(public_id, 0)
        if self.ended or public_id in self.finished or (last is not None and event["seq"] < last):
            return
        self.seqs[public_id] = event["seq"]
        self.pending[public_id] = {
            "seq": event["seq"],
            "append": event["blocks_html"],
            "replace": True,
            "keep": 0,
            "delta": event["tail_html"],
            "html": None,
        }
        self._schedule_send()

    def _forget_stream(self, public_id: str):
        """Drop what this socket knew of a reply's stream: it starts again from frame 1."""
        self.finished.discard(public_id)
        self.pending.pop(public_id, None)
        self.seqs.pop(public_id, None)
        self.tails_sent.discard(public_id)

    def _schedule_send(self):
        if self.sender is None or self.sender.done():
            # Started eagerly: the send runs now, in this turn of the loop, and the task only
            # lives on if the send waits (frames that arrive meanwhile merge into `pending`).
            # Under load every hop to another task waits a whole turn of a busy loop.
            self.sender = asyncio.Task(
                self._send_pending(), loop=asyncio.get_running_loop(), eager_start=True
            )

    async def _resync(self, public_id: str):
        self.seqs[public_id] = None
        await self.channel_layer.group_send(
            events.generation_group(public_id),
            events.generation_resync_event(message_public_id=public_id, channel=self.channel_name),
        )

    async def _send_pending(self):
        # Frames that arrive while a send is under way merge into `pending` meanwhile.
        while self.pending and not self.ended:
            public_id, frame = self.pending.popitem()
            self.tails_sent.add(public_id)
            html = frame.pop("html")
            if not frame["append"] and not frame["replace"]:
                html = tail_frame(
                    self._alias(public_id),
                    seq=frame["seq"],
                    keep=frame["keep"],
                    delta=frame["delta"],
                )
            elif not html:
                # Rendered by the engine once for every socket; a merged or resync frame here.
                html = frame_html(public_id, **frame)
            await self.send(text_data=html)

    def _alias(self, public_id: str) -> str:
        """Return the reply's name in this socket's tail frames; its first use defines it."""
        if public_id in self.aliases:
            return str(self.aliases[public_id])
        alias = self.aliases[public_id] = len(self.aliases) + 1
        return f"{public_id}={alias}"

    async def generation_done(self, event):
        public_id = event["message_id"]
        if self.ended:
            return
        self.finished.add(public_id)
        self.pending.pop(public_id, None)
        self.seqs.pop(public_id, None)
        self.tails_sent.discard(public_id)
        if self.sender is not None:
            await self.sender  # no partial frame may overtake the final one
        html = event.get("html")
        if html:
            await self.send(text_data=self._with_csrf(html))
            return
        # The engine could not render it: the stored reply, as a page load shows it.
        loaded = await database_sync_to_async(self._load_messages)([public_id])
        if loaded:
            await self.send(text_data=self._render(*loaded[0]))

    async def thread_changed(self, event):
        if not self.ended:
            await self.send(text_data=thread_refresh_html(self.conversation.public_id))

    async def conversation_status(self, event):
        """Re-render the composer out of band: locked, closed or active again, at once."""
        if self.ended:
            return
        html = await database_sync_to_async(self._composer_frame)()
        await self.send(text_data=html)

    async def session_ended(self, event):
        """Close the socket of a session that logged out; nothing more is sent on it."""
        self.ended = True
        await self.close()

    async def user_sessions_ended(self, event):
        """Close the socket if its session no longer signs in (password changed, deactivated)."""
        signs_in = await database_sync_to_async(session_signs_in)(
            user_id=self.scope["user"].pk, session=self.scope.get("session")
        )
        if not signs_in:
            self.ended = True
            await self.close()

    # Rendering --------------------------------------------------------------------------------

    def _with_csrf(self, html: str) -> str:
        """Put this socket's CSRF token where a frame rendered for every socket left a slot."""
        return html.replace(CSRF_FIELD, self._csrf_field())

    def _csrf_field(self) -> str:
        return f'name="csrfmiddlewaretoken" value="{escape(self._csrf_token())}"'

    def _csrf_token(self) -> str:
        # The cookie's secret is a valid form token, so forms in streamed frames still post.
        return self.scope.get("cookies", {}).get("csrftoken", "")

    def _render(self, message: Message, position: int, count: int) -> str:
        return render_message(
            message, position=position, count=count, csrf_token=self._csrf_token()
        )

    def _token_total_frame(self, token_count: int) -> str:
        return render_to_string(
            "conversations/chat.html#token-total",
            {"conversation": {"token_count": token_count}, "token_total_oob": True},
        )

    def _composer_frame(self) -> str:
        conversation = Conversation.objects.get(pk=self.conversation.pk)
        self.conversation = conversation
        models = settings.CHAT_MODELS
        latest = (
            Message.objects.filter(conversation=conversation, model__in=models)
            .order_by("-created_at", "-id")
            .values_list("model", flat=True)
            .first()
        )
        return render_to_string(
            "conversations/chat.html#composer",
            {
                "conversation": conversation,
                "closed": not conversation.is_open,
                "generating": message_generating(conversation=conversation) is not None,
                "models": models,
                "selected_model": latest or models[0],
                "composer_oob": True,
                "csrf_token": self._csrf_token(),
            },
        )

    # Database (each a single small call from the event loop) ----------------------------------

    def _created_html(self, public_ids: list[str], replaces: str) -> str:
        messages = list(
            Message.objects.filter(conversation=self.conversation, public_id__in=public_ids)
        )
        if not messages:
            return ""
        messages.sort(key=lambda m: public_ids.index(m.public_id))
        return messages_created_render(
            conversation=self.conversation, messages=messages, replaces=replaces
        )

    def _load_messages(self, public_ids: list[str]) -> list[tuple[Message, int, int]]:
        messages = list(
            Message.objects.filter(conversation=self.conversation, public_id__in=public_ids)
        )
        messages.sort(key=lambda m: public_ids.index(m.public_id))
        positions = message_sibling_positions(conversation=self.conversation, messages=messages)
        return [(m, *positions.get(m.pk, (1, 1))) for m in messages]

    def _load_generating(self) -> tuple[Message, int, int] | None:
        conversation = Conversation.objects.get(pk=self.conversation.pk)
        self.conversation = conversation
        message = message_generating(conversation=conversation)
        if message is None:
            return None
        positions = message_sibling_positions(conversation=conversation, messages=[message])
        return (message, *positions.get(message.pk, (1, 1)))


@receiver(user_logged_out, dispatch_uid="conversations.close_session_sockets")
def close_session_sockets(sender, request, user, **kwargs):
    """Close every websocket of a session when it logs out."""
    session = getattr(request, "session", None)
    if session is not None and session.session_key:
        events.session_ended(session_key=session.session_key)
