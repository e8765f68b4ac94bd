"""What can happen to a job, in one place: create, enqueue, cancel, requeue, delete, purge, recover.

Pages, the API, the admin, commands and periodic tasks all call these; none of them touches storage or
Celery directly. Every change of a job's status is ``jobs.lifecycle``'s, which these call.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from jobs import admission, lifecycle, separators
from jobs.models import MAX_SEED, Job
from jobs.stem_cache import delete_entry, purge_stem_cache
from jobs.storage import STORAGE_ERRORS, delete_keys, delete_tree, discard_results, job_prefix, list_tree
from jobs.validators import ValidatedUpload, validate_audio_upload
from metalizer_site import error_codes as codes
from metalizer_site import rate_limits
from metalizer_site.uploads import UploadRejected
from pipeline import DEFAULT_OPTIONS, INVALID_OPTIONS

logger = logging.getLogger(__name__)

# Files under jobs/<id>/ with no job row are removed by purge once they are this old (seconds).
ORPHAN_GRACE_S = 3600
# A worker's scratch folder untouched this long, of a job no worker runs, was left by a killed worker.
WORK_DIR_GRACE_S = 60


class QueueUnavailable(codes.CodedError):
    """The broker refused or timed out; the job was not created."""

    default_code = codes.QUEUE_UNAVAILABLE


class StorageUnavailable(codes.CodedError):
    """The file store could not be reached; the operation did not happen (or not completely)."""

    default_code = codes.STORAGE_UNAVAILABLE


class SourceUnavailable(codes.CodedError):
    """The job to play again is gone, not finished, or no longer holds its song; nothing was created."""


@dataclass(frozen=True)
class Caller:
    """Who is asking: a signed-in user/token, else the anonymous browser session, which owns its jobs.

    ``identity`` is who the admission limits count (``jobs.admission``): the account, else the client's
    address (``metalizer_site.rate_limits.caller_identity``), since a new session is one cookie away.
    """

    user: Any = None
    session_key: str = ""
    identity: str = ""

    @classmethod
    def of(cls, request: Any, *, create_session: bool = False) -> Caller:
        """The caller of a page or API request: its signed-in user (session or token), else its browser
        session, which ``create_session`` starts when it has none yet (before the caller's first job)."""
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return cls(user=user, identity=rate_limits.caller_identity(request))
        if create_session and not request.session.session_key:
            request.session.create()
        session_key = request.session.session_key or ""
        return cls(
            session_key=session_key, identity=rate_limits.caller_identity(request, session_key=session_key)
        )

    @property
    def is_user(self) -> bool:
        return self.user is not None and getattr(self.user, "is_authenticated", False)

    def owns(self, job: Job) -> bool:
        if self.is_user:
            return job.owner_id == self.user.pk
        return bool(self.session_key) and job.owner_id is None and job.session_key == self.session_key


# --- Creating and queueing -----------------------------------------------------------------------------


def submit_upload(uploaded: Any, options: dict[str, Any], caller: Caller) -> Job:
    """A song upload from the API or the page, from admission to the queue.

    The caller is admitted before the file is probed (``jobs.admission``: a refused caller costs no
    decoding), then the song is judged (``jobs.validators``) and its job created. Raises TooMany (429),
    UploadRejected, QueueUnavailable or StorageUnavailable.
    """
    try:
        admission.precheck(caller)
    except rate_limits.RateStoreUnavailable as exc:  # Redis down: it is the queue too
        logger.error("admission count unavailable: %s", exc)
        raise QueueUnavailable() from exc
    upload = validate_audio_upload(uploaded)
    refused = separators.refusal(options.get("separator", DEFAULT_OPTIONS.separator), upload.info.duration_s)
    if refused:
        raise UploadRejected(INVALID_OPTIONS, refused)
    return create_job(upload, options, caller)


def create_job(upload: ValidatedUpload, options: dict[str, Any], caller: Caller) -> Job:
    """Store a validated upload, create its Job row and queue it.

    Must run outside an open transaction so the worker can see the committed row. The caller's caps are
    checked in the transaction that creates the row (``admission.hold``; TooMany). If the broker cannot
    take the message, the row and the stored file are removed and QueueUnavailable is raised.
    """
    job = Job(
        id=uuid.uuid4(),
        original_name=upload.name,
        size_bytes=upload.size,
        duration=upload.info.duration_s,
        owner=caller.user if caller.is_user else None,
        session_key="" if caller.is_user else caller.session_key,
        admitted_as=caller.identity,
        **Job.option_columns(options),
    )
    try:
        with transaction.atomic():
            admission.hold(caller, upload.info.duration_s)
            job.save()
            job.input_file.save(upload.name, upload.file, save=True)
    except STORAGE_ERRORS as exc:
        logger.error("could not store the upload of job %s: %s", job.pk, exc)
        with contextlib.suppress(Exception):  # a half-written input, if the store got that far
            delete_tree(job_prefix(job.pk))
        raise StorageUnavailable(
            message="The file store is not reachable right now, so the song was not saved. "
            "Please try again in a minute."
        ) from exc
    try:
        enqueue(job)
    except QueueUnavailable:
        delete_job_files(job)
        job.delete()
        raise
    return job


def create_remix(source: Job, options: dict[str, Any], caller: Caller) -> Job:
    """Queue a new job that plays ``source``'s song again with ``options``, owned by ``caller``.

    It shares what the source paid for: the stored song (the same storage key, never copied; deleting
    either job keeps it while the other needs it), the stem cache entry and the analysis, so the worker
    only plays. It is admitted like an upload (``jobs.admission``; TooMany). Raises SourceUnavailable when
    the source is gone, not finished or without its song, and QueueUnavailable (nothing created) when the
    broker cannot take it.
    """
    try:
        admission.precheck(caller)
    except rate_limits.RateStoreUnavailable as exc:
        logger.error("admission count unavailable: %s", exc)
        raise QueueUnavailable() from exc
    with transaction.atomic():
        # The source row stays locked until the new row is committed: a delete of the source running at the
        # same time waits and then sees the song still in use, or runs first and this finds nothing.
        locked = Job.objects.select_for_update().filter(pk=source.pk).first()
        if locked is None:
            raise SourceUnavailable(codes.NOT_FOUND)
        if locked.status != Job.Status.SUCCEEDED:
            raise SourceUnavailable(
                codes.NOT_READY, "Only a finished remix can be played in another style; this one is not done."
            )
        if not locked.input_file or not locked.analysis:
            raise SourceUnavailable(codes.SOURCE_UNAVAILABLE)
        job = Job(
            id=uuid.uuid4(),
            source=locked,
            input_file=locked.input_file.name,
            original_name=locked.original_name,
            size_bytes=locked.size_bytes,
            duration=locked.duration,
            analysis=locked.analysis,
            stem_key=locked.stem_key,
            owner=caller.user if caller.is_user else None,
            session_key="" if caller.is_user else caller.session_key,
            admitted_as=caller.identity,
            # its stems are the source's (from the stem cache, or separated again the same way)
            **(Job.option_columns(options) | {"separator_choice": locked.separator_choice}),
        )
        admission.hold(caller, float(locked.duration or 0.0))
        job.save()
    try:
        enqueue(job)
    except QueueUnavailable:
        delete_job_files(job)  # its own folder only: the song stays with the source
        job.delete()
        raise
    return job


def next_take_seed(job: Job) -> int:
    """A seed no version of this job's song has used yet: "another take" is always a new one."""
    top = Job.objects.filter(input_file=job.input_file.name).aggregate(top=Max("seed"))["top"]
    return (max(top or 0, job.seed) + 1) % (MAX_SEED + 1)


def enqueue(job: Job) -> None:
    """Give the job a fresh task id and send it to the heavy queue (``CELERY_TASK_ROUTES``)."""
    from kombu.exceptions import KombuError, OperationalError

    from jobs.tasks import process_job
    from metalizer_site.celery import ensure_broker_dirs

    task_id = str(uuid.uuid4())
    now = timezone.now()
    Job.objects.filter(pk=job.pk).update(celery_task_id=task_id, queued_at=now)
    job.celery_task_id, job.queued_at = task_id, now
    try:
        if settings.CELERY_TASK_ALWAYS_EAGER:
            process_job.apply_async(args=[str(job.pk)], task_id=task_id)
        else:
            ensure_broker_dirs()  # the web app may take an upload before the embedded worker first ran
            # A fresh connection per upload: a broker that went away is noticed now, not via a stale pool.
            # No time limits in the message: the worker that runs the job applies its own settings' limits
            # (the ones its timeout message and stuck-job sweep speak of), whatever the web was started with.
            with process_job.app.connection_for_write() as conn:
                process_job.apply_async(
                    args=[str(job.pk)],
                    task_id=task_id,
                    connection=conn,
                    time_limit=None,
                    soft_time_limit=None,
                )
    except (OperationalError, KombuError, ConnectionError, OSError, TimeoutError) as exc:
        logger.error("could not queue job %s: %s", job.pk, exc)
        raise QueueUnavailable() from exc


def revoke(job: Job) -> None:
    """Best effort: revoke the job's task so a queued message never runs.

    A task already running is stopped cooperatively rather than killed: its next progress report finds
    the row cancelled or gone and raises JobCancelled (see jobs.runner), and the run's files are removed.
    Killing the pool child (revoke with terminate) was tried and can leave a prefork pool wedged on a
    lock the dead child held, which would stop every later job.
    """
    if not job.celery_task_id or job.is_finished or settings.CELERY_TASK_ALWAYS_EAGER:
        return
    from metalizer_site.celery import app

    try:
        app.control.revoke(job.celery_task_id)
    except Exception as exc:  # a down broker must not block deleting a job
        logger.warning("could not revoke task %s of job %s: %s", job.celery_task_id, job.pk, exc)


# --- Ending jobs ---------------------------------------------------------------------------------------


def delete_job_files(job: Job) -> int:
    """Delete every file the job owns in storage (input, outputs, stems, MIDI) and its local work dir.

    What it shares with its re-styles (the stored song, the stem cache entry) goes only with the last job
    that uses it, wherever it is stored. Returns the job files deleted.
    """
    own = list_tree(job_prefix(job.pk))
    others = Job.objects.exclude(pk=job.pk)
    song = job.input_file.name if job.input_file else ""
    song_in_use = bool(song) and others.filter(input_file=song).exists()
    keys = [key for key in own if not (song_in_use and key == song)]
    if song and not song_in_use and song not in own and default_storage.exists(song):
        keys.append(song)  # a re-style's song, stored under its (deleted) source's folder
    count = delete_keys(keys, tidy=[job_prefix(job.pk)])
    if job.stem_key and not others.filter(stem_key=job.stem_key).exists():
        delete_entry(job.stem_key)
    shutil.rmtree(work_dir_of(job.pk), ignore_errors=True)
    return count


def work_dir_of(job_id: Any) -> Path:
    """The job's scratch folder on this worker (its input, the pipeline's outputs before they are stored)."""
    return Path(settings.METALIZER_WORK_DIR) / str(job_id)


def sweep_work_dirs(grace_s: float = WORK_DIR_GRACE_S) -> int:
    """Remove the scratch folders a killed worker left: those of finished or vanished jobs, untouched for
    ``grace_s``. Returns how many. A data folder may be shared by several workers (docker compose), so the
    folder of a job that runs, or waits and may be claimed any moment, always stays (its run starts by
    emptying it anyway)."""
    root = Path(settings.METALIZER_WORK_DIR)
    if not root.is_dir():
        return 0
    folders = {}
    for path in root.iterdir():
        try:
            folders[uuid.UUID(path.name)] = path
        except ValueError:  # the stem cache's scratch and other temporary folders are no job's
            continue
    live = set(Job.objects.filter(pk__in=list(folders)).unfinished().values_list("pk", flat=True))
    cutoff = time.time() - grace_s
    swept = 0
    for job_id, path in folders.items():
        with contextlib.suppress(FileNotFoundError):
            if job_id not in live and path.stat().st_mtime < cutoff:
                shutil.rmtree(path, ignore_errors=True)
                swept += 1
    return swept


def delete_job(job: Job) -> None:
    """Revoke, delete every file, then the row. If storage fails the row stays, so deleting can be retried."""
    revoke(job)
    try:
        with transaction.atomic():
            # Locked like create_remix locks a source: a re-style made at this moment is seen as a user of
            # the shared song (or finds its source gone), never left without its song.
            Job.objects.select_for_update().filter(pk=job.pk).first()
            delete_job_files(job)
            job.delete()
    except STORAGE_ERRORS as exc:
        logger.error("could not delete the files of job %s: %s", job.pk, exc)
        raise StorageUnavailable(
            message="The file store is not reachable right now, so the remix could not be deleted "
            "completely. Please try again in a minute."
        ) from exc


def cancel_job(job: Job) -> bool:
    """Stop a queued or running job; its results (if any were half-stored) are removed. False if finished."""
    cancelled = lifecycle.cancel(job.pk)
    if cancelled:
        revoke(job)
        discard_results(job.pk)
    job.refresh_from_db()
    return cancelled


def requeue(job: Job) -> bool:
    """Run a failed or cancelled job again from the stored input. False when it cannot be requeued."""
    if not job.input_file or not lifecycle.reset(job):
        return False
    return _send_again(job) == "requeued"


def _send_again(job: Job) -> str:
    """Send a job that is back in the queue to the broker: "requeued", or "failed" when it cannot take it."""
    try:
        enqueue(job)
    except QueueUnavailable as exc:
        lifecycle.fail(job.pk, codes.QUEUE_UNAVAILABLE, str(exc), from_statuses=[Job.Status.QUEUED])
        return "failed"
    return "requeued"


# --- Housekeeping --------------------------------------------------------------------------------------


def purge_expired(now: datetime | None = None) -> int:
    """Delete every expired job and all its files, then orphaned job folders and stem cache entries no job
    uses any more once they are old. Returns jobs deleted."""
    count = 0
    for job in Job.objects.expired(now).iterator():
        try:
            delete_job(job)
            count += 1
        except Exception:  # one bad object must not stop the sweep; the next run tries again
            logger.exception("could not purge job %s", job.pk)
    purge_orphaned_files(now)
    sweep_work_dirs()
    rate_limits.purge_windows()
    entries = purge_stem_cache(now)
    if entries:
        logger.info("purged %d stem cache entr%s no job uses", entries, "y" if entries == 1 else "ies")
    return count


def purge_orphaned_files(now: datetime | None = None, grace_s: int = ORPHAN_GRACE_S) -> int:
    """Delete ``jobs/<id>/`` folders whose job row is gone (e.g. a worker killed while uploading results).

    Only folders whose newest file is older than ``grace_s`` are touched, so an upload whose row is not
    committed yet is never mistaken for an orphan; a song a live re-style still plays (its ``input_file``)
    stays. Returns the number of files deleted.
    """
    now = now or timezone.now()
    try:
        folders, _files = default_storage.listdir("jobs")
    except (FileNotFoundError, NotADirectoryError):
        return 0
    ids = {}
    for name in folders:
        try:
            ids[uuid.UUID(name)] = name
        except ValueError:
            continue
    known = set(Job.objects.filter(pk__in=list(ids)).values_list("pk", flat=True))
    deleted = 0
    for job_id, name in ids.items():
        if job_id in known:
            continue
        keys = list_tree(f"jobs/{name}")
        in_use = set(Job.objects.filter(input_file__in=keys).values_list("input_file", flat=True))
        loose = [key for key in keys if key not in in_use]
        cutoff = now - timedelta(seconds=grace_s)
        if loose and all(default_storage.get_modified_time(k) < cutoff for k in loose):
            deleted += delete_keys(loose, tidy=[f"jobs/{name}"])
            logger.warning("deleted %d orphaned file(s) of vanished job %s", len(loose), name)
    return deleted


def recover_stuck_jobs(*, orphaned_by: str | None = None, older_than_s: int | None = None) -> dict[str, int]:
    """Requeue (once) or fail running jobs whose worker is gone, and queued jobs whose message was lost.

    A job is orphaned when its heartbeat is older than ``older_than_s`` (default
    METALIZER_STUCK_AFTER_S), or when ``orphaned_by`` names the worker node it ran on (that node has
    just started, so its previous life is over). What happens to each is ``jobs.lifecycle``'s rule.
    """
    counts = {"requeued": 0, "failed": 0}
    for job in Job.objects.lost_in_queue():
        _count_recovery(counts, job, lifecycle.recover_lost_message(job))
    stuck = Job.objects.stuck(older_than_s)
    if orphaned_by:
        stuck = stuck | Job.objects.running_on(orphaned_by)
    for job in stuck.distinct():
        _count_recovery(counts, job, lifecycle.recover_orphan(job))
    return counts


def _count_recovery(counts: dict[str, int], job: Job, outcome: str | None) -> None:
    """Send a recovered job again and count how its recovery ended (nothing when it moved on meanwhile)."""
    if outcome == "requeued":
        outcome = _send_again(job)
        if outcome == "requeued":
            logger.warning("requeued job %s (its worker or its message was lost)", job.pk)
    if outcome is not None:
        counts[outcome] += 1
