"""The error registry (metalizer_site.error_codes): every code the site raises has its message, advice and
HTTP status there, and nothing can raise a code it lacks.

A code is raised through ``CodedError`` (an upload or bank file refused, a service down, an API refusal), a
``PipelineError`` (the pipeline's own codes, which ``pipeline.ERROR_CODES`` lists) or recorded on a failed
job; ``CodedError`` refuses a code without a row, so every test that reaches a raise site checks its code.
"""

from __future__ import annotations

import pytest

import pipeline
from assets_bank.archives import UnsafeArchive
from assets_bank.validators import AssetRejected
from jobs.results import PartDamaged, PartUnavailable
from jobs.runner import RetryLater
from jobs.services import QueueUnavailable, SourceUnavailable, StorageUnavailable
from jobs.transcode import TranscodeError
from metalizer_site import error_codes
from metalizer_site.api_errors import GENERIC_ERRORS, ApiError
from metalizer_site.error_codes import CODES, CodedError
from metalizer_site.uploads import TooMany, UploadRejected, too_large

HTTP_ERROR_STATUSES = range(400, 600)


@pytest.mark.parametrize("entry", CODES.values(), ids=list(CODES))
def test_every_entry_has_a_message_advice_and_an_error_status_or_none(entry):
    assert len(entry.message) > 10 and len(entry.advice) > 10, entry
    assert len(entry.code) <= error_codes.MAX_CODE_LENGTH
    assert entry.status is None or entry.status in HTTP_ERROR_STATUSES, entry


def test_every_code_the_pipeline_names_has_an_entry():
    assert set(pipeline.ERROR_CODES) <= set(CODES)


def test_a_code_without_an_entry_cannot_be_raised():
    with pytest.raises(ValueError, match="never_heard_of_it"):
        CodedError("never_heard_of_it", "Made up on the spot.")
    with pytest.raises(ValueError, match="never_heard_of_it"):
        ApiError("never_heard_of_it", "Made up on the spot.")


def test_the_api_refuses_a_status_other_than_the_codes_own():
    assert ApiError(error_codes.NOT_FOUND, "No such job.", 404).status_code == 404
    with pytest.raises(ValueError, match="answers 404"):
        ApiError(error_codes.NOT_FOUND, "No such job.", 400)


@pytest.mark.parametrize(
    ("error", "code", "status"),
    [
        (UploadRejected(pipeline.NOT_AUDIO, "Not audio."), "not_audio", 400),
        (too_large(1000), "file_too_large", 413),
        (TooMany(error_codes.THROTTLED, "Slow down.", 7), "throttled", 429),
        (AssetRejected("required_role", "It keeps the kit playable."), "required_role", 409),
        (UnsafeArchive("Entry points outside the archive."), "unsafe_archive", 400),
        (QueueUnavailable(), "queue_unavailable", 503),
        (StorageUnavailable(), "storage_unavailable", 503),
        (SourceUnavailable(error_codes.NOT_FOUND), "not_found", 404),
        (SourceUnavailable(error_codes.SOURCE_UNAVAILABLE), "source_unavailable", 409),
        (PartUnavailable("mix"), "part_unavailable", 404),
        (PartDamaged("drums"), "part_unavailable", 404),
        (TranscodeError(message="ffmpeg failed"), "format_unavailable", 500),
        (RetryLater(error_codes.TEMPORARY_ERROR, "The store blinked."), "temporary_error", 500),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else None,
)
def test_every_refusal_shares_one_base_and_takes_its_status_from_the_registry(error, code, status):
    assert isinstance(error, CodedError)
    assert (error.code, error.status) == (code, status)
    assert error.message


def test_a_refusal_without_its_own_words_says_the_registrys_message():
    assert QueueUnavailable().message == error_codes.message(error_codes.QUEUE_UNAVAILABLE)


def test_the_generic_api_errors_name_registered_codes_with_their_status():
    for http_status, (code, _message) in GENERIC_ERRORS.items():
        if code in CODES and CODES[code].status is not None:
            assert CODES[code].status == http_status, code


@pytest.mark.parametrize(
    ("code", "advice"),
    [
        ("out_of_memory", "Try again in a few minutes"),
        ("too_long", "Trim the song"),
        ("never_heard_of_it", error_codes.DEFAULT_ADVICE),
    ],
)
def test_advice_comes_from_the_registry_with_a_default_for_unknown_codes(code, advice):
    assert error_codes.advice(code).startswith(advice)
