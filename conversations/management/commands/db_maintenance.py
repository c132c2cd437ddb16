from django.core.management.base import BaseCommand, CommandError

from conversations import retention


def mb(size: int) -> str:
    return f"{size / 2**20:,.1f} MB"


class Command(BaseCommand):
    help = (
        "Run what the database needs: on SQLite PRAGMA optimize, VACUUM (gives freed pages "
        "back to the file system) and ANALYZE; on PostgreSQL VACUUM (ANALYZE) on the app tables."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Show what would run.")

    def handle(self, *args, **options):
        try:
            report = retention.database_maintain(dry_run=options["dry_run"])
        except RuntimeError as error:
            raise CommandError(str(error)) from error
        measure = "free pages" if report.vendor == "sqlite" else "dead rows"
        if options["dry_run"]:
            if options["verbosity"] > 1:
                for statement in report.statements:
                    self.stdout.write(statement)
            self.stdout.write(
                f"Dry run: would run {len(report.statements)} statements on {report.vendor}; "
                f"{measure}: {report.reclaimable_before:,}; size: {mb(report.size_before)}."
            )
            return
        self.stdout.write(
            f"Ran {len(report.statements)} statements on {report.vendor} in "
            f"{report.seconds:.1f} s; {measure}: {report.reclaimable_before:,} before, "
            f"{report.reclaimable_after:,} after; size: {mb(report.size_before)} before, "
            f"{mb(report.size_after)} after."
        )
