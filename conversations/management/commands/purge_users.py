import sys

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from conversations import retention


class Command(BaseCommand):
    help = (
        "Delete accounts inactive for N days (never staff or superusers) and all their data: "
        "conversations in batches first, then the accounts."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--inactive-days",
            type=int,
            required=True,
            metavar="N",
            help="Days since the last login (or sign-up, for users who never logged in).",
        )
        parser.add_argument("--dry-run", action="store_true", help="Count, delete nothing.")
        parser.add_argument(
            "--batch-size",
            type=int,
            default=retention.BATCH_SIZE,
            help="Rows per transaction (users; conversations and their messages together).",
        )

    def handle(self, *args, **options):
        days = options["inactive_days"]
        if days < 1:
            raise CommandError("--inactive-days must be at least 1.")
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.")
        users = retention.users_to_purge(inactive_days=days)
        planned = retention.users_purge_count(users)
        if options["dry_run"]:
            self.stdout.write(
                f"Dry run: would delete {planned.users:,} users inactive for {days} days, "
                f"with {planned.deleted.conversations:,} conversations "
                f"({planned.deleted.messages:,} messages)."
            )
            return
        with tqdm(
            total=planned.deleted.conversations,
            unit="conv",
            disable=options["verbosity"] == 0 or None,
            file=sys.stderr,
        ) as bar:
            report = retention.users_purge(
                users, batch_size=options["batch_size"], on_batch=bar.update
            )
        deleted = report.deleted
        self.stdout.write(
            f"Deleted {report.users:,} users inactive for {days} days, with "
            f"{deleted.conversations:,} conversations ({deleted.messages:,} messages); "
            f"longest batch {deleted.longest_batch_seconds * 1000:.0f} ms."
        )
