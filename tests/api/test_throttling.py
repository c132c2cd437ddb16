"""Rate limits per user and per key, counted atomically so a concurrent burst cannot pass."""

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from accounts import throttling
from tests.api.conftest import JsonClient, make_key
from tests.factories import ConversationFactory

pytestmark = pytest.mark.usefixtures("one_rate_window")

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def redis_throttle_cache(settings):
    """Count in the real Redis, under a key prefix no one else uses."""
    settings.CACHES = settings.CACHES | {
        "throttle": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": f"test_api_throttle_{uuid.uuid4().hex}",
        }
    }
    settings.THROTTLE_CACHE = "throttle"
    return settings


@pytest.mark.parametrize(
    ("rate", "parsed"),
    [("120/min", (120, 60)), ("5/s", (5, 1)), ("1000/day", (1000, 86400)), ("10/5m", (10, 300))],
)
def test_rates_parse(rate, parsed):
    assert throttling.parse_rate(rate) == parsed


@pytest.mark.parametrize("rate", ["", "off", "0", None])
def test_empty_or_off_rate_disables_the_limit(rate):
    assert throttling.parse_rate(rate) is None


def test_a_bad_rate_is_a_configuration_error():
    with pytest.raises(ImproperlyConfigured, match="120/min"):
        throttling.parse_rate("lots")


def test_writes_over_the_rate_get_429_with_retry_after(api, settings):
    settings.API_WRITE_RATE = settings.API_KEY_WRITE_RATE = "3/min"
    statuses = [api.post("/api/conversations/", {}).status_code for _ in range(4)]
    assert statuses == [201, 201, 201, 429]
    response = api.post("/api/conversations/", {})
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert response.json()["error"]["code"] == "throttled"
    assert response.json()["error"]["message"].startswith("Too many requests. Try again in")


def test_reads_are_not_counted_as_writes(api, settings):
    settings.API_WRITE_RATE = settings.API_KEY_WRITE_RATE = "1/min"
    for _ in range(5):
        assert api.get("/api/conversations/").status_code == 200
    assert api.post("/api/conversations/", {}).status_code == 201


def test_generation_starts_have_their_own_limit(api, owner, settings):
    settings.GENERATION_RATE = settings.API_KEY_GENERATION_RATE = "2/min"
    conversations = [ConversationFactory(owner=owner) for _ in range(3)]
    statuses = [
        api.post(f"/api/conversations/{c.public_id}/messages/", {"content": "Hi"}).status_code
        for c in conversations
    ]
    assert statuses == [202, 202, 429]
    # Other writes still pass.
    assert api.post("/api/conversations/", {}).status_code == 201


def test_a_key_limit_leaves_the_users_other_keys_working(owner, settings):
    settings.API_WRITE_RATE = "100/min"
    settings.API_KEY_WRITE_RATE = "2/min"
    first, second = JsonClient(make_key(owner)), JsonClient(make_key(owner))
    assert [first.post("/api/conversations/", {}).status_code for _ in range(3)] == [201, 201, 429]
    assert second.post("/api/conversations/", {}).status_code == 201


def test_the_user_limit_counts_every_key_and_the_session(owner, session_api, settings):
    settings.API_WRITE_RATE = "3/min"
    settings.API_KEY_WRITE_RATE = "100/min"
    first, second = JsonClient(make_key(owner)), JsonClient(make_key(owner))
    assert first.post("/api/conversations/", {}).status_code == 201
    assert second.post("/api/conversations/", {}).status_code == 201
    assert session_api.post("/api/conversations/", {}).status_code == 201
    assert session_api.post("/api/conversations/", {}).status_code == 429
    assert first.post("/api/conversations/", {}).status_code == 429


def test_a_request_refused_by_the_user_limit_does_not_use_up_the_key_limit(owner, settings):
    settings.API_WRITE_RATE = "1/min"
    settings.API_KEY_WRITE_RATE = "2/min"
    key = JsonClient(make_key(owner))
    assert [key.post("/api/conversations/", {}).status_code for _ in range(3)] == [201, 429, 429]
    settings.API_WRITE_RATE = "100/min"
    # One key slot was used; the two refused requests gave theirs back.
    assert [key.post("/api/conversations/", {}).status_code for _ in range(2)] == [201, 429]


def test_another_users_limit_is_separate(api, outsider_api, settings):
    settings.API_WRITE_RATE = settings.API_KEY_WRITE_RATE = "1/min"
    assert api.post("/api/conversations/", {}).status_code == 201
    assert api.post("/api/conversations/", {}).status_code == 429
    assert outsider_api.post("/api/conversations/", {}).status_code == 201


def burst(function, count: int) -> list:
    """Call function from `count` threads released at the same moment."""
    barrier = threading.Barrier(count)

    def run(_):
        barrier.wait()
        return function()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


@pytest.mark.parametrize("backend", ["redis", "locmem"])
def test_concurrent_hits_pass_exactly_the_limit(backend, request, settings):
    if backend == "redis":
        request.getfixturevalue("redis_throttle_cache")
    bucket = f"burst:{uuid.uuid4().hex}"
    results = burst(lambda: throttling.hit(bucket, "10/min"), 50)
    assert sum(wait is None for wait in results) == 10


def test_a_redis_count_is_one_transaction_that_sets_its_expiry(redis_throttle_cache):
    import redis
    from django.core.cache import caches

    from core.cache import count_in_window

    server = redis.Redis.from_url(REDIS_URL)

    def calls():
        stats = server.info("commandstats")
        return {name: stats.get(f"cmdstat_{name}", {}).get("calls", 0)
                for name in ("exists", "multi", "exec", "incrby")}  # fmt: skip

    cache = caches["throttle"]
    before = calls()
    assert [count_in_window(cache, "window", 61) for _ in range(3)] == [1, 2, 3]
    after = calls()
    # Each count: MULTI, SET NX EX, INCRBY, EXEC, sent together; never add(), EXISTS, INCRBY.
    assert {name: after[name] - before[name] for name in after} == {
        "exists": 0, "multi": 3, "exec": 3, "incrby": 3
    }  # fmt: skip
    assert 0 < server.ttl(cache.make_and_validate_key("window")) <= 61
    assert cache.get("window") == 3


def test_a_concurrent_http_burst_passes_exactly_the_limit(
    redis_throttle_cache, live_server, transactional_db, owner
):
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        # The live server's threads would share one in-memory connection; run this on
        # PostgreSQL or with SQLITE_TEST_PATH (the hit-level burst above covers SQLite).
        pytest.skip("concurrent requests need a database file or server")
    redis_throttle_cache.API_WRITE_RATE = "3/min"
    redis_throttle_cache.API_KEY_WRITE_RATE = "1000/min"
    key = make_key(owner)
    url = f"{live_server.url}/api/conversations/bulk-delete/"

    def post():
        # The throttle runs before the body is read: an empty id list is a 400 that touches
        # no table, so only the counting is under test.
        return requests.post(
            url,
            json={"ids": []},
            headers={"Authorization": f"Bearer {key}"},
            timeout=30,
        ).status_code

    # Eight at once: the test server's listen backlog is ten connections.
    statuses = burst(post, 8)
    assert sorted(statuses) == [400] * 3 + [429] * 5


def test_api_key_guessing_from_one_address_gets_429_then_even_a_good_key_waits(
    client, owner, settings
):
    settings.API_KEY_FAILURES_PER_ADDRESS = 20
    settings.CREDENTIAL_COOLDOWN = 900
    good = make_key(owner)
    guesses = [
        JsonClient(f"sk-chat-guess{n}", client).get("/api/conversations/").status_code
        for n in range(25)
    ]
    assert guesses[:20] == [401] * 20
    assert set(guesses[20:]) == {429}
    response = JsonClient(good, client).get("/api/conversations/")
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "throttled"
    assert 1 <= int(response["Retry-After"]) <= 900
    # /v1 answers the cool-down in OpenAI's shape.
    response = JsonClient(good, client).get("/v1/conversations/conv_x")
    assert response.status_code == 429
    assert response.json()["error"]["type"] == "rate_limit_error"
    # Another address is not held up.
    response = JsonClient(good, client).get("/api/conversations/", REMOTE_ADDR="198.51.100.1")
    assert response.status_code == 200


def test_api_key_cool_down_ends(client, owner, settings, monkeypatch):
    settings.API_KEY_FAILURES_PER_ADDRESS = 3
    settings.CREDENTIAL_COOLDOWN = 60
    good = make_key(owner)
    for n in range(3):
        JsonClient(f"sk-chat-guess{n}", client).get("/api/conversations/")
    assert JsonClient(good, client).get("/api/conversations/").status_code == 429
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 61)
    assert JsonClient(good, client).get("/api/conversations/").status_code == 200
