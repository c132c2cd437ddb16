import sys

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from conversations import retention


class Command(BaseCommand):
    help = (
        "Delete conversations not updated for DAYS days (default: the RETENTION_DAYS setting), "
        "with their messages and share links, in batches of short transactions."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than",
            type=int,
            metavar="DAYS",
            help="Age in days of the last update (default: RETENTION_DAYS).",
        )
        parser.add_argument("--user", metavar="USERNAME", help="Only this user's conversations.")
        parser.add_argument(
            "--archived-only", action="store_true", help="Only archived conversations."
        )
        parser.add_argument(
            "--keep-pinned", action="store_true", help="Never delete pinned conversations."
        )
        parser.add_argument("--dry-run", action="store_true", help="Count, delete nothing.")
        parser.add_argument(
            "--batch-size",
            type=int,
            default=retention.BATCH_SIZE,
            help="Rows per transaction, a conversation and its messages counting together.",
        )

    def handle(self, *args, **options):
        days = options["older_than"]
        if days is None:
            days = settings.RETENTION_DAYS
        if days is None:
            raise CommandError("Give --older-than DAYS or set RETENTION_DAYS.")
        if days < 1:
            raise CommandError("--older-than must be at least 1 day.")
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.")
        user_id = None
        if username := options["user"]:
            user_model = get_user_model()
            try:
                user_id = user_model.objects.get_by_natural_key(username).pk
            except user_model.DoesNotExist:
                raise CommandError(f"No user named {username!r}.") from None
        queryset = retention.conversations_to_prune(
            older_than_days=days,
            user_id=user_id,
            archived_only=options["archived_only"],
            keep_pinned=options["keep_pinned"],
        )
        planned = retention.conversations_count(queryset)
        if options["dry_run"]:
            self.stdout.write(
                f"Dry run: would delete {planned.conversations:,} conversations "
                f"({planned.messages:,} messages) not updated for {days} days."
            )
            return
        with tqdm(
            total=planned.conversations,
            unit="conv",
            disable=options["verbosity"] == 0 or None,
            file=sys.stderr,
        ) as bar:
            report = retention.conversations_delete_in_batches(
                queryset, batch_size=options["batch_size"], on_batch=bar.update
            )
        self.stdout.write(
            f"Deleted {report.conversations:,} conversations ({report.messages:,} messages) "
            f"not updated for {days} days in {report.batches:,} batches; "
            f"longest batch {report.longest_batch_seconds * 1000:.0f} ms."
        )
