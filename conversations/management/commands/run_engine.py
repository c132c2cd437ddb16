from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from conversations.engine import queue
from conversations.engine.runner import run_engine


class Command(BaseCommand):
    help = (
        "Run the replies that WSGI workers hand over (ENGINE_QUEUE): the engine process of "
        "the gunicorn + daphne layout. Stops on SIGTERM or SIGINT."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--grace",
            type=float,
            default=30,
            metavar="SECONDS",
            help="On shutdown, how long running replies may finish before they are stored "
            "incomplete (default 30).",
        )

    def handle(self, *args, grace, **options):
        if not settings.REDIS_URL:
            raise CommandError("run_engine needs REDIS_URL: the engine queue is in Redis.")
        if grace < 0:
            raise CommandError("--grace must be zero or more seconds.")
        self.stdout.write(f"Engine serving {queue.queue_key()} (Ctrl-C or SIGTERM to stop).")
        self.stdout.flush()
        started = run_engine(grace=grace)
        plural = "y" if started == 1 else "ies"
        self.stdout.write(f"Engine stopped after starting {started} repl{plural}.")
