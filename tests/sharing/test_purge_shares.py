from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from sharing.models import ShareLink
from sharing.services import share_create, share_purge

pytestmark = pytest.mark.django_db


def make_links(owner, conversation):
    """Create one link in each state; return them by name."""
    now = timezone.now()
    links = {
        name: share_create(user=owner, conversation=conversation)
        for name in [
            "live",
            "expires_later",
            "old_revoked",
            "new_revoked",
            "old_expired",
            "new_expired",
        ]
    }
    ShareLink.objects.filter(pk=links["expires_later"].pk).update(
        expires_at=now + timedelta(days=1)
    )
    ShareLink.objects.filter(pk=links["old_revoked"].pk).update(revoked_at=now - timedelta(days=40))
    ShareLink.objects.filter(pk=links["new_revoked"].pk).update(revoked_at=now - timedelta(days=2))
    ShareLink.objects.filter(pk=links["old_expired"].pk).update(expires_at=now - timedelta(days=31))
    ShareLink.objects.filter(pk=links["new_expired"].pk).update(expires_at=now - timedelta(hours=1))
    return links


def purge(*args):
    from io import StringIO

    out = StringIO()
    call_command("purge_shares", *args, stdout=out)
    return out.getvalue()


def remaining():
    return set(ShareLink.objects.values_list("pk", flat=True))


def test_purge_deletes_links_revoked_or_expired_before_the_cutoff(owner, chat):
    links = make_links(owner, chat.conversation)
    output = purge("--older-than", "30")
    assert output.startswith("Deleted 2 share links revoked or expired before ")
    assert output.count("\n") == 1
    assert remaining() == {
        links[n].pk for n in ["live", "expires_later", "new_revoked", "new_expired"]
    }


def test_purge_older_than_zero_deletes_every_dead_link(owner, chat):
    links = make_links(owner, chat.conversation)
    assert purge("--older-than", "0").startswith("Deleted 4 share links")
    assert remaining() == {links["live"].pk, links["expires_later"].pk}


def test_dry_run_counts_and_deletes_nothing(owner, chat):
    make_links(owner, chat.conversation)
    before = remaining()
    assert purge("--older-than", "0", "--dry-run").startswith("Would delete 4 share links")
    assert remaining() == before


def test_purge_works_in_batches(owner, chat):
    for _ in range(5):
        share_create(user=owner, conversation=chat.conversation)
    ShareLink.objects.update(revoked_at=timezone.now() - timedelta(days=1))
    assert share_purge(before=timezone.now(), batch_size=2) == 5
    assert not ShareLink.objects.exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--older-than", "soon"], "whole number of days"),
        (["--older-than", "-1"], "0 or more"),
        (["--older-than", "1.5"], "whole number of days"),
    ],
)
def test_bad_input_is_a_clear_error(owner, chat, args, message):
    make_links(owner, chat.conversation)
    before = remaining()
    with pytest.raises(CommandError, match=message):
        purge(*args)
    assert remaining() == before


def test_older_than_is_required():
    with pytest.raises(CommandError, match="--older-than"):
        purge()
