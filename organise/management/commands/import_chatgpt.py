from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from organise.transfer.importer import ImportFileError, import_file


class Command(BaseCommand):
    help = (
        "Import a ChatGPT data export (the zip or its conversations.json), or a zip or JSON "
        "file exported from this site, into a user's history. Safe to run twice."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("path", help="The export zip or conversations.json.")
        parser.add_argument("--no-progress", action="store_true", help="Hide the progress bar.")

    def handle(self, *args, username, path, no_progress, **options):
        User = get_user_model()
        try:
            user = User.objects.get(**{User.USERNAME_FIELD: username})
        except User.DoesNotExist:
            raise CommandError(f"No user named {username!r}.") from None
        bar = tqdm(unit="conv", disable=no_progress or options["verbosity"] == 0, file=self.stderr)
        try:
            with bar, open(path, "rb") as file:
                report = import_file(user=user, file=file, progress=lambda name: bar.update())
        except FileNotFoundError:
            raise CommandError(f"No such file: {path}") from None
        except (ImportFileError, IsADirectoryError) as exc:
            raise CommandError(str(exc)) from None
        for failure in report.failed:
            self.stderr.write(f"Skipped {failure.label!r}: {failure.reason}.")
        self.stdout.write(report.summary)
        if report.error:
            raise CommandError(report.error)
