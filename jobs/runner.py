"""The body of the ``process_job`` task: claim the row, run the pipeline, store the results.

Every status change it makes (claimed, succeeded, failed, back in the queue for a retry) is
``jobs.lifecycle``'s.

Kept apart from Celery so it reads top to bottom: the task wrapper only maps ``RetryLater`` onto
``self.retry``. The mix reaches storage as soon as the pipeline has written it (``EarlyMix``: a listener
plays it while the stems, MIDI files and pictures are made); the rest only after the pipeline has finished.
Any failure removes what was stored for the job's results, the early mix included, so nothing
half-written is left behind.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import close_old_connections, connection

import pipeline
from assets_bank.for_jobs import prepare_job_assets
from jobs import lifecycle
from jobs.interrupts import (
    JobCancelled,
    JobTimedOut,
    raise_if_out_of_time,
    soft_time_limit_raises_timed_out,
    stop_behind,
)
from jobs.models import Job
from jobs.services import work_dir_of
from jobs.stem_cache import StorageStemCache
from jobs.storage import delete_tree, discard_results, download_file, result_prefix, upload_file
from metalizer_site import error_codes as codes
from pipeline import OUTPUT_FORMATS, PLAYED_STEMS, Analysis, PipelineError, RemixOptions, jsonable

logger = logging.getLogger(__name__)

UPLOADS_AT_ONCE = 4


class RetryLater(codes.CodedError):
    """A transient failure: the task should be retried with backoff."""


def _transient_exceptions() -> tuple[type[BaseException], ...]:
    found: list[type[BaseException]] = [ConnectionError, TimeoutError]
    try:
        from botocore.exceptions import ConnectionError as BotoConnectionError
        from botocore.exceptions import ConnectTimeoutError, HTTPClientError, ReadTimeoutError

        # HTTPClientError: the exchange with the store broke (a connection closed mid-upload, a proxy gone)
        found += [BotoConnectionError, ConnectTimeoutError, ReadTimeoutError, HTTPClientError]
    except ImportError:  # pragma: no cover - boto3 is a pinned requirement
        pass
    return tuple(found)


TRANSIENT_EXCEPTIONS = _transient_exceptions()


# --- Progress and heartbeat ----------------------------------------------------------------------------


class ProgressWriter:
    """The pipeline's ``on_progress``: writes stage/percent to the row at most every ``min_interval_s``, and
    at once when the stage changes, so a job that fails names the stage it failed in.

    Each write doubles as a heartbeat and a cancellation check: when the row is no longer running
    (cancelled or deleted), it raises JobCancelled inside the pipeline, which stops it. Every report, written
    or not, raises JobTimedOut once the soft time limit has passed.
    """

    def __init__(
        self, job_id: Any, min_interval_s: float | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.job_id = job_id
        self.min_interval_s = (
            settings.METALIZER_PROGRESS_MIN_INTERVAL_S if min_interval_s is None else min_interval_s
        )
        self.clock = clock
        self.last_write: float | None = None
        self.last_stage = ""
        self.writes = 0

    def __call__(self, stage: str, percent: float) -> None:
        raise_if_out_of_time()
        now = self.clock()
        recent = self.last_write is not None and now - self.last_write < self.min_interval_s
        if recent and stage == self.last_stage:
            return
        self.last_write, self.last_stage = now, stage
        self.writes += 1
        if not lifecycle.record_progress(self.job_id, stage, percent):
            raise JobCancelled()


class Heartbeat:
    """Touches ``heartbeat_at`` every few seconds from a thread, so a long silent stage is not 'stuck'."""

    def __init__(self, job_id: Any, interval_s: float) -> None:
        self.job_id = job_id
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{job_id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.interval_s + 5)

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.interval_s):
                lifecycle.beat(self.job_id)
        except Exception:  # the main thread's progress writes still heartbeat; never crash the task
            logger.exception("heartbeat for job %s stopped", self.job_id)
        finally:
            connection.close()


class EarlyMix:
    """The pipeline's ``on_mix``: stores the mix in the job's output format and records it on the row at once,
    so the listener can play it while the stems, MIDI files and pictures are still being made and stored.

    It runs in the pipeline's own thread, between the mix and the rest: the row is written from the task's
    thread and connection, like every progress report. Only the asked format goes up now (the one the page
    plays and downloads by default); ``store_outputs`` stores the others with the rest and skips this one.
    """

    def __init__(self, job_id: Any, output_format: str) -> None:
        self.job_id = job_id
        self.output_format = output_format
        self.stored: dict[str, str] = {}  # format -> key

    def __call__(self, mixes: dict[str, Path]) -> None:
        started = time.perf_counter()
        fmt = self.output_format if self.output_format in mixes else "wav"
        key = upload_file(Path(mixes[fmt]), f"{result_prefix(self.job_id)}/mix.{fmt}")
        self.stored = {fmt: key}
        if not lifecycle.record_mix(self.job_id, self.stored):
            # Cancelled or deleted while the file went up: its cleanup may have run before the upload landed.
            discard_results(self.job_id)
            raise JobCancelled()
        spent = time.perf_counter() - started
        logger.info("job %s: the mix is stored and playable (%.2f s)", self.job_id, spent)


class EarlyFiles:
    """The pipeline's ``on_file``: stores each stem and picture as soon as it is written, in the pipeline's
    own thread while the next ones are still being encoded, so what is left to store after the pipeline is
    what came last (the MIDI files go up together at the end, as one ZIP). ``store_outputs`` skips these.
    A failed upload raises into the pipeline, which stops; the job's results are discarded with the rest."""

    def __init__(self, job_id: Any) -> None:
        self.job_id = job_id
        self.stored: dict[tuple[str, str], str] = {}  # (part, format or picture name) -> key

    def __call__(self, kind: str, name: str, path: Path) -> None:
        prefix = result_prefix(self.job_id)
        if kind == "stems":
            fmt = path.suffix.lstrip(".").lower()
            self.stored[(name, fmt)] = upload_file(path, f"{prefix}/stems/{name}.{fmt}")
        elif kind == "pictures":
            self.stored[("pictures", name)] = upload_file(path, f"{prefix}/pictures/{path.name}")


# --- Running -------------------------------------------------------------------------------------------


def run_job(
    job_id: str, *, task_id: str, worker: str, retries: int, max_retries: int, eager: bool = False
) -> str:
    """Run one job to a final state; returns that state. Raises RetryLater for transient failures."""
    close_old_connections()
    job = lifecycle.claim(job_id, task_id, worker)
    if job is None:
        logger.info("job %s: not claimable by task %s, skipped", job_id, task_id)
        # A redelivered message of a job its dead worker left (now failed worker_lost, or finished): the
        # scratch folder that worker could not remove goes now, not with the purge.
        shutil.rmtree(work_dir_of(job_id), ignore_errors=True)
        return "skipped"
    work_dir = work_dir_of(job.pk)
    shutil.rmtree(work_dir, ignore_errors=True)
    work_dir.mkdir(parents=True)
    heartbeat = None if eager else Heartbeat(job.pk, settings.METALIZER_HEARTBEAT_S)
    try:
        if heartbeat:
            heartbeat.start()
        with soft_time_limit_raises_timed_out():
            return _run_claimed(job, work_dir)
    except (JobCancelled, JobTimedOut, SoftTimeLimitExceeded) as exc:
        return _stopped(job, stop_behind(exc))
    except PipelineError as exc:
        if stop_behind(exc):  # a stop some code wrapped into an error of its own
            return _stopped(job, stop_behind(exc))
        if exc.transient and retries < max_retries:
            lifecycle.wait_for_retry(job.pk, exc.message)
            raise RetryLater(exc.code, exc.message) from exc
        lifecycle.fail(job.pk, exc.code, exc.message)
        return "failed"
    except TRANSIENT_EXCEPTIONS as exc:
        if stop_behind(exc):
            return _stopped(job, stop_behind(exc))
        if retries < max_retries:
            lifecycle.wait_for_retry(job.pk, "a temporary storage or network problem")
            raise RetryLater(codes.TEMPORARY_ERROR, str(exc)) from exc
        lifecycle.fail(job.pk, codes.TEMPORARY_ERROR)
        return "failed"
    except Exception as exc:
        if stop_behind(exc):
            return _stopped(job, stop_behind(exc))
        if not lifecycle.is_running(job.pk):
            # Deleted or cancelled under our feet: its files went with it, which is what broke the run.
            discard_results(job.pk)
            return "cancelled"
        logger.exception("job %s failed unexpectedly", job.pk)
        lifecycle.fail(job.pk, codes.INTERNAL_ERROR)
        return "failed"
    finally:
        if heartbeat:
            heartbeat.stop()
        shutil.rmtree(work_dir, ignore_errors=True)


def _stopped(job: Job, stop: type[BaseException] | None) -> str:
    """The end of a job stopped from outside: cancelled stays cancelled, out of time fails with the limit."""
    if stop is JobTimedOut:
        logger.warning("job %s ran past its soft time limit", job.pk)
        lifecycle.fail(job.pk, codes.TIMEOUT, lifecycle.timeout_message())
        return "failed"
    discard_results(job.pk)
    logger.info("job %s was cancelled or deleted while running", job.pk)
    return "cancelled"


def _run_claimed(job: Job, work_dir: Path) -> str:
    # A previous attempt may have died between uploads: start from an empty result folder.
    delete_tree(result_prefix(job.pk))
    options = job.remix_options()
    # The active asset bank packs, written in the pipeline's layout (cached while no pack changes);
    # the snapshot is stored so later edits of the bank never change the record of this job.
    assets_dir, assets_used = prepare_job_assets()
    Job.objects.filter(pk=job.pk).update(assets_used=assets_used)
    progress = ProgressWriter(job.pk)
    stem_cache = StorageStemCache()
    # A re-style carries its source's analysis (and stem cache key) from the start: it is not analysed again.
    analysis = Analysis.from_dict(job.analysis) if job.analysis else None
    early_mix = EarlyMix(job.pk, options.output_format)
    early_files = EarlyFiles(job.pk)
    result = _replay_cached(
        job, analysis, options, assets_dir, progress, stem_cache, work_dir, early_mix, early_files
    )
    if result is None:
        input_name = Path(job.input_file.name).name
        input_path = download_file(job.input_file.name, work_dir / "in" / input_name)
        result = pipeline.metalize(
            input_path,
            work_dir / "out",
            options,
            assets_dir,
            progress,
            models_dir=Path(settings.METALIZER_MODELS_DIR),
            stem_cache=stem_cache,
            max_duration_s=float(settings.METALIZER_MAX_DURATION_S),
            analysis=analysis,
            separators=settings.METALIZER_SEPARATORS,
            on_mix=early_mix,
            on_file=early_files,
        )
    storing = time.perf_counter()
    outputs = store_outputs(job.pk, result, work_dir, stored_mix=early_mix.stored, stored=early_files.stored)
    # Beside the pipeline's stages: fetching reused stems (set by _replay_cached) and storing the results (the
    # mix stored early is part of "finishing", and the row's mix_ready_at says when it was playable).
    timings = {**result.timings, "storing": round(time.perf_counter() - storing, 3)}
    succeeded = lifecycle.succeed(
        job.pk,
        analysis=jsonable(result.analysis.to_dict()),
        analysis_reused=result.analysis_reused,
        separator=jsonable(result.separator.to_dict()),
        stem_key=result.stem_cache_key or job.stem_key,
        timings=jsonable(timings),
        outputs=outputs,
    )
    if not succeeded:
        raise JobCancelled()
    return "succeeded"


def _replay_cached(
    job: Job,
    analysis: Analysis | None,
    options: RemixOptions,
    assets_dir: Path,
    progress: ProgressWriter,
    stem_cache: StorageStemCache,
    work_dir: Path,
    early_mix: EarlyMix,
    early_files: EarlyFiles,
) -> Any:
    """A re-style whose stems are in the stem cache: play them with the stored analysis, without fetching
    or decoding the song. None when they are not there (then the song is remixed from its stored file)."""
    if analysis is None or not job.stem_key:
        return None
    progress("reusing", 0.0)
    fetching = time.perf_counter()
    cached = stem_cache.get(job.stem_key, PLAYED_STEMS)
    if cached is None:
        logger.info("job %s: stems %s not in the stem cache; separating again", job.pk, job.stem_key[:12])
        return None
    fetched = round(time.perf_counter() - fetching, 3)
    result = pipeline.replay(  # popped into the call: replay holds the only references and frees them
        cached.stems.pop("vocals"),
        cached.stems.pop("other"),
        analysis,
        work_dir / "out",
        options,
        assets_dir,
        progress,
        separator=cached.separator,
        stem_cache_key=job.stem_key,
        on_mix=early_mix,
        on_file=early_files,
    )
    result.timings = {"reusing": fetched, **result.timings}
    return result


def store_outputs(
    job_id: Any,
    result: Any,
    work_dir: Path,
    *,
    stored_mix: dict[str, str] | None = None,
    stored: dict[tuple[str, str], str] | None = None,
) -> dict[str, Any]:
    """Upload the pipeline's files under ``jobs/<id>/result/``; returns part -> {format -> key}.

    ``stored_mix`` (format -> key) are the mix files already stored (``EarlyMix``), ``stored`` ((part,
    format) -> key) the stems and pictures stored as they came (``EarlyFiles``): kept, not sent again.
    A few files go up at once (an object store answers each request with some latency). On any failure
    the keys uploaded so far are deleted before the error propagates.
    """
    stored_mix = dict(stored_mix or {})
    prefix = result_prefix(job_id)
    out_dir = Path(result.out_dir)
    plan: list[tuple[str, str, Path, str]] = []  # part, format (or picture name), local file, key
    for fmt in OUTPUT_FORMATS:
        path = out_dir / f"mix.{fmt}"
        if path.is_file() and fmt not in stored_mix:
            plan.append(("mix", fmt, path, f"{prefix}/mix.{fmt}"))
    mix_path = Path(result.mix_path)
    mix_fmt = mix_path.suffix.lstrip(".").lower()
    if mix_fmt not in stored_mix and not any(part == "mix" and fmt == mix_fmt for part, fmt, _p, _k in plan):
        plan.append(("mix", mix_fmt, mix_path, f"{prefix}/mix.{mix_fmt}"))
    for name, path in sorted(result.stems.items()):
        fmt = Path(path).suffix.lstrip(".").lower()
        plan.append((name, fmt, Path(path), f"{prefix}/stems/{name}.{fmt}"))
    if result.midi:
        zip_path = work_dir / "midi.zip"
        with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for name, path in sorted(result.midi.items()):
                zf.write(path, arcname=f"{name}{Path(path).suffix or '.mid'}")
        plan.append(("midi", "zip", zip_path, f"{prefix}/midi.zip"))
    for name, path in sorted(result.pictures.items()):
        plan.append(("pictures", name, Path(path), f"{prefix}/pictures/{Path(path).name}"))
    stored = dict(stored or {})
    plan = [item for item in plan if (item[0], item[1]) not in stored]
    try:
        # Leaving the pool waits for every upload, so a failure is cleaned up only after the last one.
        with ThreadPoolExecutor(max_workers=UPLOADS_AT_ONCE) as pool:
            keys = list(pool.map(lambda item: upload_file(item[2], item[3]), plan))
    except BaseException:
        discard_results(job_id)
        raise
    outputs: dict[str, Any] = {"mix": stored_mix}
    for (part, fmt), key in stored.items():
        outputs.setdefault(part, {})[fmt] = key
    for (part, fmt, _path, _key), key in zip(plan, keys, strict=True):
        outputs.setdefault(part, {})[fmt] = key
    return outputs
