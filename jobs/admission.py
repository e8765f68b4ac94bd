"""Who may create how much work: the one admission policy every way of making a job passes (an upload
through the API or the page, a re-style through either), in the service layer, never in a view.

A caller (``jobs.services.Caller``: an account, else its client address as ``metalizer_site.rate_limits``
names it, never a header it can choose) may

- start ``METALIZER_THROTTLE_UPLOADS`` uploads and re-styles per window (``rate_limits.hit``, a count every
  web process shares), counted before the song is read or probed, so a refused caller costs no decoding;
- have ``METALIZER_MAX_UNFINISHED_JOBS`` jobs waiting or running, holding at most
  ``METALIZER_MAX_QUEUED_AUDIO_MINUTES`` minutes of music together. Checked once cheaply before the song is
  probed, and again, with the song's length, inside the transaction that creates the job, under a lock per
  caller, so parallel requests cannot slip past the cap together.

Every refusal is a ``TooMany`` (HTTP 429 with a wait in seconds and a message a listener understands).
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import connection
from django.db.models import Sum

from jobs.models import Job
from metalizer_site import error_codes as codes
from metalizer_site import rate_limits
from metalizer_site.uploads import TooMany
from pipeline import format_duration

if TYPE_CHECKING:
    from jobs.services import Caller

SCOPE = "jobs"
# A caller at a cap waits for one of its jobs to finish; this is a hint, not a promise.
CAP_RETRY_AFTER_S = 60
PERIODS = {1: "a second", 60: "a minute", 3600: "an hour", 86400: "a day"}


def precheck(caller: Caller) -> None:
    """Before the song is read: count this attempt against the rate, and refuse a caller already at a cap.
    ``rate_limits.RateStoreUnavailable`` when the count cannot be kept."""
    count, seconds = settings.METALIZER_UPLOAD_RATE
    wait = rate_limits.hit(SCOPE, caller.identity, settings.METALIZER_UPLOAD_RATE)
    if wait is not None:
        remixes = "remix" if count == 1 else "remixes"
        raise TooMany(
            codes.THROTTLED,
            f"You have started {count} {remixes} in {PERIODS.get(seconds, f'{seconds} s')}, the most this "
            f"server takes from one listener. Please try again in {format_duration(wait)}.",
            wait,
        )
    check_caps(caller, 0.0)


def hold(caller: Caller, audio_seconds: float) -> None:
    """Inside the transaction creating a job of ``audio_seconds``: lock the caller's admissions until it
    commits, then refuse when the new job would pass a cap."""
    _lock(caller.identity)
    check_caps(caller, audio_seconds)


def check_caps(caller: Caller, audio_seconds: float) -> None:
    unfinished = Job.objects.unfinished().filter(admitted_as=caller.identity)
    most = int(settings.METALIZER_MAX_UNFINISHED_JOBS)
    if unfinished.count() >= most:
        raise TooMany(
            codes.TOO_MANY_JOBS,
            f"You already have {most} remix{'es' if most != 1 else ''} waiting or in progress, the most at "
            "once. Please start this one when one of them has finished.",
            CAP_RETRY_AFTER_S,
        )
    queued_s = float(unfinished.aggregate(total=Sum("duration"))["total"] or 0.0)
    cap_s = 60.0 * int(settings.METALIZER_MAX_QUEUED_AUDIO_MINUTES)
    if queued_s + audio_seconds > cap_s or queued_s >= cap_s:
        this = f" this song ({format_duration(audio_seconds)}) would pass" if audio_seconds else " that is"
        raise TooMany(
            codes.QUEUED_AUDIO_LIMIT,
            f"Your remixes waiting or in progress already hold {format_duration(queued_s)} of music, and"
            f"{this} the {format_duration(cap_s)} one listener may have queued. Please start it when one of "
            "them has finished.",
            CAP_RETRY_AFTER_S,
        )


def _lock(identity: str) -> None:
    """A lock per caller held to the end of the transaction (PostgreSQL); SQLite's immediate transactions
    already run one writer at a time."""
    if connection.vendor != "postgresql":
        return
    key = int.from_bytes(hashlib.sha256(f"admission:{identity}".encode()).digest()[:8], "big", signed=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])
