"""Fixed-window rate limits counted atomically in the cache, per user and per API key.

DRF's SimpleRateThrottle reads a history list, appends and writes it back, so a burst of
concurrent requests can all read the same history and all pass. Here each request is one
atomic `incr` on a per-window counter (Redis INCR, one round trip: core.cache.count_in_window;
a lock in LocMemCache), so exactly `limit` requests pass in a window however many arrive
at once.
"""

import contextlib
import hashlib
import math
import time

from django.conf import settings
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from rest_framework.throttling import BaseThrottle

from core.cache import count_in_window

DURATIONS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60,
             "h": 3600, "hour": 3600, "d": 86400, "day": 86400}  # fmt: skip


def parse_rate(rate: str | None) -> tuple[int, int] | None:
    """Return (requests, seconds) for a rate like "120/min", or None when it is off."""
    if not rate or rate.strip().lower() in ("0", "off", "none"):
        return None
    try:
        count, _, period = rate.strip().partition("/")
        number = "".join(ch for ch in period if ch.isdigit()) or "1"
        unit = period.lstrip("0123456789").strip().lower()
        return int(count), int(number) * DURATIONS[unit]
    except (KeyError, ValueError):
        raise ImproperlyConfigured(
            f"Invalid rate {rate!r}: use <count>/<period> such as 120/min or 1000/day."
        ) from None


def _cache():
    return caches[settings.THROTTLE_CACHE]


def _count(bucket: str, rate: str | None) -> tuple[str | None, float | None]:
    """Count one request in bucket; return its counter key and the wait if over the rate."""
    parsed = parse_rate(rate)
    if parsed is None:
        return None, None
    limit, duration = parsed
    now = time.time()
    window = int(now // duration)
    key = f"throttle:{bucket}:{duration}:{window}"
    count = count_in_window(_cache(), key, duration + 1)
    if count > limit:
        return key, max((window + 1) * duration - now, 0.001)
    return key, None


def hit(bucket: str, rate: str | None) -> float | None:
    """Count one request in bucket; return seconds to wait if it is over the rate, else None."""
    return _count(bucket, rate)[1]


def throttle_request(*, scope: str, user_id: int, api_key_id: int | None) -> float | None:
    """Count a request of scope ("write" or "generation") for the key and for the user.

    Return the seconds to wait when a limit is exceeded, else None. A request refused by one
    limit gives back what it took from the others, so it never uses up a slot it didn't get.
    """
    rates = {
        "write": (settings.API_WRITE_RATE, settings.API_KEY_WRITE_RATE),
        "generation": (settings.GENERATION_RATE, settings.API_KEY_GENERATION_RATE),
    }
    user_rate, key_rate = rates[scope]
    buckets = [(f"{scope}:user:{user_id}", user_rate)]
    if api_key_id is not None:
        buckets.insert(0, (f"{scope}:key:{api_key_id}", key_rate))
    taken = []
    for bucket, rate in buckets:
        key, wait = _count(bucket, rate)
        if wait is not None:
            for counted in taken:
                # A counter that expired with its window has nothing to give back.
                with contextlib.suppress(ValueError):
                    _cache().decr(counted)
            return wait
        if key is not None:
            taken.append(key)
    return None


class RateLimited(Exception):
    """A write or generation past its rate; every door answers 429 with the wait.

    Shaped like core.errors.DomainError (status_code, code, message), which this module
    cannot import: core.errors loads DRF's settings, which load this module.
    """

    status_code = 429
    error_type = "rate_limit_error"
    code = "rate_limit_exceeded"

    def __init__(self, wait: float):
        seconds = max(math.ceil(wait), 1)
        self.message = (
            f"You are sending too fast. Try again in {seconds} second{'s' * (seconds != 1)}."
        )
        self.param = None
        super().__init__(self.message)
        self.wait = seconds


def throttle_check(*, user, scope: str, api_key_id: int | None = None) -> None:
    """Count one action of scope ("write" or "generation") or raise RateLimited.

    The browser's views call this; DRF and /v1 reach the same counters via the throttles.
    """
    if not getattr(user, "is_authenticated", False):
        return
    wait = throttle_request(scope=scope, user_id=user.pk, api_key_id=api_key_id)
    if wait is not None:
        raise RateLimited(wait)


class ScopedThrottle(BaseThrottle):
    scope = ""

    def applies(self, request) -> bool:
        return True

    def allow_request(self, request, view):
        self._wait = None
        user = request.user
        if not self.applies(request) or not getattr(user, "is_authenticated", False):
            return True
        api_key_id = getattr(request.auth, "pk", None) if request.auth is not None else None
        self._wait = throttle_request(scope=self.scope, user_id=user.pk, api_key_id=api_key_id)
        return self._wait is None

    def wait(self):
        return math.ceil(self._wait) if self._wait else None


class WriteThrottle(ScopedThrottle):
    """Limit writes (any unsafe method) per user and per key: settings.API_WRITE_RATE."""

    scope = "write"

    def applies(self, request) -> bool:
        return request.method not in ("GET", "HEAD", "OPTIONS")


class GenerationThrottle(ScopedThrottle):
    """Limit generation starts per user and per key: settings.GENERATION_RATE."""

    scope = "generation"


# Credential checks ------------------------------------------------------------------------
# Failed logins and API key checks are counted per account and per client address; past a
# limit that account or address is refused for a cool-down, the right password included, so
# guessing cannot go on however it is spread. A success clears the account's count.


def client_address(request) -> str:
    """Return the client's address (daphne's --proxy-headers puts a proxy's client here)."""
    return request.META.get("REMOTE_ADDR") or "unknown"


def _credential_buckets(*, scope: str, account: str | None, address: str | None):
    """Yield (bucket, failure limit) for each count this credential check falls under."""
    if account:
        # Hashed: a username is user input of any length and any character.
        digest = hashlib.sha256(account.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        yield f"{scope}:account:{digest}", settings.LOGIN_FAILURES_PER_ACCOUNT
    if address:
        limit = {
            "login": settings.LOGIN_FAILURES_PER_ADDRESS,
            "api_key": settings.API_KEY_FAILURES_PER_ADDRESS,
        }[scope]
        yield f"{scope}:address:{address}", limit


def credential_locked(*, scope: str, account: str | None = None, address: str | None = None):
    """Return the seconds left of a cool-down on this account or address, or None."""
    buckets = _credential_buckets(scope=scope, account=account, address=address)
    locks = [f"credlock:{bucket}" for bucket, limit in buckets if limit]
    if not locks:
        return None
    # The stored deadline decides, not the cache's expiry (Redis keeps its own clock).
    now = time.time()
    until = [value for value in _cache().get_many(locks).values() if value and value > now]
    if not until:
        return None
    return max(until) - now


def credential_failed(*, scope: str, account: str | None = None, address: str | None = None):
    """Count a failed check; start a cool-down where a limit is reached, returning its length."""
    cache = _cache()
    locked = None
    for bucket, limit in _credential_buckets(scope=scope, account=account, address=address):
        if not limit:
            continue
        key = f"credfail:{bucket}"
        cache.add(key, 0, timeout=settings.CREDENTIAL_FAILURE_WINDOW)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr: a new window
            cache.add(key, 0, timeout=settings.CREDENTIAL_FAILURE_WINDOW)
            count = cache.incr(key)
        if count >= limit:
            cooldown = settings.CREDENTIAL_COOLDOWN
            cache.set(f"credlock:{bucket}", time.time() + cooldown, timeout=cooldown)
            # After the cool-down the count starts again from zero.
            cache.delete(key)
            locked = cooldown
    return locked


def credential_succeeded(*, scope: str, account: str) -> None:
    """Forget an account's failed checks after it proved its credentials."""
    for bucket, _limit in _credential_buckets(scope=scope, account=account, address=None):
        _cache().delete(f"credfail:{bucket}")


def cooldown_message(wait: float) -> str:
    """Return what a person reads while a cool-down lasts."""
    minutes = math.ceil(wait / 60)
    if wait <= 60:
        left = f"{math.ceil(wait)} second{'' if math.ceil(wait) == 1 else 's'}"
    else:
        left = f"{minutes} minute{'' if minutes == 1 else 's'}"
    return f"Too many failed sign-in attempts. Try again in {left}."
