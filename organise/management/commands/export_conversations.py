from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from conversations.models import Conversation
from organise.transfer.export import user_export_zip


class Command(BaseCommand):
    help = "Write all of a user's projects and conversations (every branch) to a zip file."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--output", required=True, help="Path of the zip file to write.")
        parser.add_argument("--no-progress", action="store_true", help="Hide the progress bar.")

    def handle(self, *args, username, output, no_progress, **options):
        User = get_user_model()
        try:
            user = User.objects.get(**{User.USERNAME_FIELD: username})
        except User.DoesNotExist:
            raise CommandError(f"No user named {username!r}.") from None
        path = Path(output)
        if not path.parent.is_dir():
            raise CommandError(f"The folder {path.parent} does not exist.")
        total = Conversation.objects.filter(owner=user).count()
        bar = tqdm(
            total=total,
            unit="conv",
            disable=no_progress or options["verbosity"] == 0,
            file=self.stderr,
        )
        partial = path.with_name(path.name + ".partial")
        try:
            with bar, partial.open("wb") as out:
                for chunk in user_export_zip(user=user, progress=lambda: bar.update()):
                    out.write(chunk)
            partial.replace(path)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        self.stdout.write(f"Exported {total} conversations of {username} to {path}.")
