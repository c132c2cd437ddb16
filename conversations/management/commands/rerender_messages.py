import sys

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from conversations import rerender
from conversations.rendering import RENDER_VERSION


class Command(BaseCommand):
    help = (
        "Store the HTML of every finished message rendered by the current renderer "
        f"(version {RENDER_VERSION}), in batches by id; safe to interrupt and run again."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--after",
            type=int,
            default=0,
            metavar="ID",
            help="Start after this message id (resume where a run stopped).",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=rerender.BATCH_SIZE,
            help=f"Messages per transaction (default {rerender.BATCH_SIZE}).",
        )
        parser.add_argument("--dry-run", action="store_true", help="Count, change nothing.")

    def handle(self, *args, after, batch_size, dry_run, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        if after < 0:
            raise CommandError("--after must not be negative.")
        planned = rerender.messages_to_rerender(after=after).count()
        if dry_run:
            self.stdout.write(
                f"Dry run: would re-render {planned:,} messages to renderer version "
                f"{RENDER_VERSION}."
            )
            return
        with tqdm(
            total=planned,
            unit="msg",
            unit_scale=True,
            disable=options["verbosity"] == 0 or None,
            file=sys.stderr,
            desc="Rendering",
        ) as bar:

            def on_batch(count: int, last_id: int) -> None:
                bar.update(count)
                bar.set_postfix(last_id=last_id, refresh=False)

            report = rerender.messages_rerender(
                after=after, batch_size=batch_size, on_batch=on_batch
            )
        self.stdout.write(
            f"Re-rendered {report.messages:,} messages to renderer version {RENDER_VERSION} "
            f"in {report.batches:,} batches; last id {report.last_id}."
        )
