"""One writer per process for the partial text of every streaming reply.

Every GENERATION_FLUSH_INTERVAL it writes the new text of all of them in one UPDATE and reads
all their stop flags in one cache call, and every HEARTBEAT_INTERVAL it refreshes all their
liveness keys in one more: a hundred replies streaming cost a statement a tick,
not a hundred (each a hop to a database thread, which took the GIL from the event loop that
relays the tokens). A reply whose row was ended elsewhere, or whose stop flag is set, is told
to stop. While a write is under way the next waits, so under load there are fewer writes.
"""

import asyncio
import contextlib
import logging
import time
import weakref

from django.conf import settings

from conversations.engine.state import HEARTBEAT_INTERVAL, Generation
from conversations.engine.store import replies_flush

logger = logging.getLogger(__name__)


class Flusher:
    def __init__(self, db):
        self.db = db
        self.gens: dict[int, Generation] = {}
        self.written: dict[int, int] = {}
        self.task: asyncio.Task | None = None
        self.writing: asyncio.Future | None = None

    def add(self, gen: Generation) -> None:
        """Write this reply's new text from now on (its stored text, if any, is not new)."""
        self.gens[gen.message_id] = gen
        self.written[gen.message_id] = len(gen.prefix)
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._run())

    async def discard(self, gen: Generation) -> None:
        """Stop writing the reply; a write under way completes first (the final one follows)."""
        self.gens.pop(gen.message_id, None)
        self.written.pop(gen.message_id, None)
        if self.writing is not None and not self.writing.done():
            with contextlib.suppress(Exception):  # _run logs it
                await asyncio.shield(self.writing)
        if not self.gens and self.task is not None:
            self.task.cancel()

    async def _run(self) -> None:
        interval = settings.GENERATION_FLUSH_INTERVAL
        last = beat = time.monotonic()
        while self.gens:
            await asyncio.sleep(max(0.0, last + interval - time.monotonic()))
            last = time.monotonic()
            texts = {
                pk: gen.text for pk, gen in self.gens.items() if len(gen.text) > self.written[pk]
            }
            # A reply's first liveness key is set when it starts (runner.start_generation).
            beating = last - beat >= HEARTBEAT_INTERVAL
            if beating:
                beat = last
            self.writing = asyncio.ensure_future(
                self.db(replies_flush)(list(self.gens), texts, beating)
            )
            try:
                stops = await asyncio.shield(self.writing)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the final write still stores the text
                logger.warning("Could not write the partial replies: %s", exc)
                continue
            for pk, text in texts.items():
                gen = self.gens.get(pk)
                if gen is not None and pk not in stops:
                    self.written[pk] = len(text)
                    gen.flushes += 1
            for pk, reason in stops.items():
                gen = self.gens.get(pk)
                if gen is not None:
                    gen.stop_reason = reason or gen.stop_reason
                    gen.stop.set()


# One per event loop: a server has one; a reply run to completion outside one gets its own.
_flushers: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Flusher]" = (
    weakref.WeakKeyDictionary()
)


def flusher_for(db) -> Flusher:
    """Return the running loop's flusher, made on first use with this database runner."""
    loop = asyncio.get_running_loop()
    flusher = _flushers.get(loop)
    if flusher is None:
        flusher = _flushers[loop] = Flusher(db)
    return flusher
