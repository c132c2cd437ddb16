import argparse

from django.core.management.base import BaseCommand, CommandError

from organise.benchdata import MessageRange, bench_data_generate


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number.") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must not be negative.")
    return value


def _message_range(text: str) -> MessageRange:
    try:
        return MessageRange.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


class Command(BaseCommand):
    help = (
        "Fill the database with benchmark users (bench1..benchN, password 'bench'), each with "
        "--conversations conversations of --messages messages. Adds to what is there."
    )

    def add_arguments(self, parser):
        parser.add_argument("--users", type=_count, default=1, help="How many users (default 1).")
        parser.add_argument(
            "--conversations",
            type=_count,
            default=1_000,
            help="Conversations per user (default 1000).",
        )
        parser.add_argument(
            "--messages",
            type=_message_range,
            default=MessageRange(20, 20),
            help="Messages per conversation: N exactly, or MIN-MAX uniformly (default 20).",
        )
        parser.add_argument(
            "--seed", type=int, default=None, help="Seed for text, lengths and dates."
        )
        parser.add_argument(
            "--text-seed",
            type=int,
            default=None,
            help="Seed for the pool of sentences alone: runs that share it write the same "
            "kind of text, whatever their --seed.",
        )
        parser.add_argument("--prefix", default="bench", help="Username prefix (default 'bench').")
        parser.add_argument("--no-progress", action="store_true", help="Hide the progress bar.")

    def handle(
        self, *args, users, conversations, messages, seed, text_seed, prefix, no_progress, **options
    ):
        if users < 1:
            raise CommandError("--users must be at least 1.")
        result = bench_data_generate(
            users=users,
            conversations=conversations,
            messages=messages,
            seed=seed,
            text_seed=text_seed,
            prefix=prefix,
            progress=not no_progress and options["verbosity"] > 0,
        )
        self.stdout.write(
            f"Added {result.conversations:,} conversations and {result.messages:,} messages "
            f"for {result.users:,} users ({result.users_created:,} new) "
            f"in {result.seconds:.1f}s."
        )
