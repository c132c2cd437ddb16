"""The public share pages carry the site's name and a way back."""

import pytest

pytestmark = pytest.mark.django_db


def test_dead_share_link_names_the_site_and_links_home(client):
    response = client.get("/s/no-such-token/")
    html = response.content.decode()
    assert response.status_code == 404
    assert 'class="share-site-name" href="/">Chat</a>' in html
    assert "Go to Chat" in html
