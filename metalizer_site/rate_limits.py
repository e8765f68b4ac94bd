"""Who the caller is, and how often it did something lately: the counts every web process shares.

``caller_identity`` names a caller by its account, else by its address (``client_ip``: the connection's
address, or the one ``METALIZER_TRUSTED_PROXIES`` proxies wrote into X-Forwarded-For; an IPv6 address by its
/64, which one subscriber holds whole). Its address is kept only as a keyed hash.

``hit`` counts one attempt in a fixed window per (scope, caller) and says how long to wait once the rate is
used up; ``peek`` says the same without counting. The counts live in Redis when the queue does
(``METALIZER_RATE_STORE=redis``: one atomic transaction per hit), else in the database (``RateWindow``,
one locked row per hit; SQLite's immediate transactions serialise the processes). ``RateStoreUnavailable``
when the store cannot be reached: the caller decides whether that refuses or lets through.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
from datetime import timedelta
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

KEY_PREFIX = "metalizer:rate"
Rate = tuple[int, int]  # (count, seconds), as settings reads it (metalizer_site.env.Env.rate)


class RateStoreUnavailable(Exception):
    """The store of the counts (Redis) did not answer."""


def client_ip(request: Any) -> str:
    """The client's address: the connection's, or X-Forwarded-For's entry written by the outermost trusted
    proxy (the header's N-th address from the right, as DRF's ``NUM_PROXIES`` reads it)."""
    remote = str(request.META.get("REMOTE_ADDR") or "")
    proxies = int(settings.METALIZER_TRUSTED_PROXIES)
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if proxies and forwarded:
        addresses = [part.strip() for part in str(forwarded).split(",") if part.strip()]
        if addresses:
            candidate = addresses[-min(proxies, len(addresses))]
            try:
                return str(ipaddress.ip_address(candidate))
            except ValueError:
                pass
    return remote


def caller_identity(request: Any = None, *, user: Any = None, ip: str = "", session_key: str = "") -> str:
    """``user:<id>`` for an account, else ``ip:<keyed hash>`` of the address (IPv6 by its /64), else the
    browser session (``session:<key>``)."""
    if request is not None:
        user = getattr(request, "user", None)
        ip = client_ip(request)
    if user is not None and getattr(user, "is_authenticated", False):
        return f"user:{user.pk}"
    if ip:
        return f"ip:{_address_digest(ip)}"
    return f"session:{session_key}"


def _address_digest(ip: str) -> str:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        network = ip
    else:
        prefix = 64 if address.version == 6 else 32
        network = str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))
    return hmac.new(settings.SECRET_KEY.encode(), network.encode(), hashlib.sha256).hexdigest()[:32]


def hit(scope: str, identity: str, rate: Rate) -> int | None:
    """Count one attempt; None when it is within ``rate``, else the seconds until the window resets."""
    count, seconds = rate
    key = f"{KEY_PREFIX}:{scope}:{identity}"
    if settings.METALIZER_RATE_STORE == "redis":
        used, ttl = _redis_hit(key, seconds)
    else:
        used, ttl = _database_hit(key, seconds)
    return None if used <= count else max(1, ttl)


def peek(scope: str, identity: str, rate: Rate) -> int | None:
    """Like ``hit`` without counting: None while the rate is not used up, else the seconds to wait."""
    count, _seconds = rate
    key = f"{KEY_PREFIX}:{scope}:{identity}"
    if settings.METALIZER_RATE_STORE == "redis":
        used, ttl = _redis_peek(key)
    else:
        used, ttl = _database_peek(key)
    return None if used < count else max(1, ttl)


# --- Redis -------------------------------------------------------------------------------------------------


@lru_cache(maxsize=4)
def _redis(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)


def _redis_call(work: Any) -> Any:
    import redis

    try:
        return work(_redis(settings.REDIS_URL))
    except (redis.RedisError, OSError) as exc:
        raise RateStoreUnavailable(str(exc)) from exc


def _redis_hit(key: str, seconds: int) -> tuple[int, int]:
    def run(client: Any) -> tuple[int, int]:
        with client.pipeline(transaction=True) as pipe:  # MULTI/EXEC: every process sees one count
            pipe.set(key, 0, ex=seconds, nx=True)
            pipe.incr(key)
            pipe.ttl(key)
            _created, used, ttl = pipe.execute()
        return int(used), int(ttl)

    return _redis_call(run)


def _redis_peek(key: str) -> tuple[int, int]:
    def run(client: Any) -> tuple[int, int]:
        with client.pipeline(transaction=True) as pipe:
            pipe.get(key)
            pipe.ttl(key)
            used, ttl = pipe.execute()
        return int(used or 0), int(ttl)

    return _redis_call(run)


# --- The database (the embedded default) -------------------------------------------------------------------


def _database_hit(key: str, seconds: int) -> tuple[int, int]:
    from metalizer_site.models import RateWindow

    now = timezone.now()
    for _attempt in range(3):
        try:
            with transaction.atomic():
                window = RateWindow.objects.select_for_update().filter(key=key).first()
                if window is None:
                    window = RateWindow.objects.create(
                        key=key, count=1, resets_at=now + timedelta(seconds=seconds)
                    )
                elif window.resets_at <= now:
                    window.count, window.resets_at = 1, now + timedelta(seconds=seconds)
                    window.save(update_fields=["count", "resets_at"])
                else:
                    window.count += 1
                    window.save(update_fields=["count"])
            return window.count, _seconds_until(window.resets_at, now)
        except IntegrityError:  # another process made the row first: count in it
            continue
    raise RateStoreUnavailable(f"could not count {key}")


def _database_peek(key: str) -> tuple[int, int]:
    from metalizer_site.models import RateWindow

    now = timezone.now()
    window = RateWindow.objects.filter(key=key, resets_at__gt=now).first()
    return (window.count, _seconds_until(window.resets_at, now)) if window else (0, 0)


def _seconds_until(moment: Any, now: Any) -> int:
    return math.ceil((moment - now).total_seconds())


def purge_windows() -> int:
    """Delete the database's windows that have reset (the hourly purge calls it); returns how many."""
    if settings.METALIZER_RATE_STORE == "redis":
        return 0  # Redis expires them itself
    from metalizer_site.models import RateWindow

    deleted, _ = RateWindow.objects.filter(resets_at__lte=timezone.now()).delete()
    return deleted
