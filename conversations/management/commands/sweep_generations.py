from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from conversations.engine import sweep_generations


class Command(BaseCommand):
    help = "Mark replies left in_progress by a dead server process as incomplete."

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than",
            type=float,
            default=None,
            metavar="SECONDS",
            help="Only replies not written for this long (default: twice GENERATION_TIMEOUT).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Count the replies without changing them."
        )

    def handle(self, *args, older_than, dry_run, **options):
        if older_than is None:
            older_than = settings.GENERATION_TIMEOUT * 2
        if older_than < 0:
            raise CommandError("--older-than must be zero or more seconds.")
        count = sweep_generations(older_than=older_than, dry_run=dry_run)
        verb = "Would mark" if dry_run else "Marked"
        self.stdout.write(
            f"{verb} {count} abandoned repl{'y' if count == 1 else 'ies'} as incomplete "
            f"(no write for {older_than:g}s)."
        )
