from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from sharing.services import share_count_purgeable, share_purge


class Command(BaseCommand):
    help = "Delete share links that were revoked or expired more than DAYS days ago."

    def add_arguments(self, parser):
        parser.add_argument("--older-than", type=str, required=True, metavar="DAYS")
        parser.add_argument(
            "--dry-run", action="store_true", help="Count the links without deleting them."
        )

    def handle(self, *args, older_than, dry_run, **options):
        try:
            days = int(older_than)
        except ValueError:
            raise CommandError(
                f"--older-than must be a whole number of days, not {older_than!r}."
            ) from None
        if days < 0:
            raise CommandError("--older-than must be 0 or more days.")
        before = timezone.now() - timedelta(days=days)
        if dry_run:
            count, verb = share_count_purgeable(before=before), "Would delete"
        else:
            count, verb = share_purge(before=before), "Deleted"
        self.stdout.write(
            f"{verb} {count} share links revoked or expired before {before:%Y-%m-%d %H:%M} UTC."
        )
