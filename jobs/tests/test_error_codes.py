"""Every error code the pipeline or the jobs app can raise has an entry in the registry (jobs.error_codes).

The source is read, not run: every call that raises or records a code (``PipelineError(...)``,
``UploadRejected(...)``, ``ApiError(...)``, ``fail(...)``...) is found and its code resolved, so a new code
cannot ship without a message and advice.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import pipeline
from jobs import error_codes
from metalizer_site import uploads
from pipeline import errors as pipeline_errors

ROOT = Path(__file__).resolve().parents[2]
SCANNED = [*sorted((ROOT / "pipeline").rglob("*.py")), *sorted((ROOT / "jobs").rglob("*.py"))]
SCANNED += [ROOT / "metalizer_site" / "uploads.py"]
# The callables that take a code, and the position of the code among their arguments.
CODE_POSITION = {
    "PipelineError": 0,
    "UploadRejected": 0,
    "RetryLater": 0,
    "SourceUnavailable": 0,
    "ApiError": 0,
    "fail": 1,  # fail(job_id, code, ...)
}
RECORDERS = {"fail"}  # write the code they are given onto the job
# Modules whose constants name codes: pipeline.errors, the registry, the shared upload checks.
CONSTANTS = {
    name: value
    for module in (pipeline_errors, error_codes, uploads)
    for name, value in vars(module).items()
    if name.isupper() and isinstance(value, str)
}


def _source_files() -> list[Path]:
    return [p for p in SCANNED if "tests" not in p.parts and "migrations" not in p.parts]


def _callee(call: ast.Call) -> str:
    func = call.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def _code_argument(call: ast.Call) -> ast.expr | None:
    for keyword in call.keywords:
        if keyword.arg in ("code", "error_code"):
            return keyword.value
    position = CODE_POSITION[_callee(call)]
    return call.args[position] if len(call.args) > position else None


def _inside_recorders(tree: ast.AST) -> set[int]:
    """Nodes inside the functions that record the code they are given (their own parameter is no new code)."""
    return {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and node.name in RECORDERS
        for inner in ast.walk(node)
    }


def raised_codes() -> tuple[dict[str, list[str]], list[str]]:
    """(code -> where it is raised, passed-through codes that are not literals or constants)."""
    found: dict[str, list[str]] = {}
    passed_on: list[str] = []
    for path in _source_files():
        tree = ast.parse(path.read_text(), filename=str(path))
        skipped = _inside_recorders(tree)
        for node in ast.walk(tree):
            where = f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}"
            if id(node) in skipped:
                continue
            if isinstance(node, ast.Call) and _callee(node) in CODE_POSITION:
                argument = _code_argument(node)
            elif isinstance(node, ast.keyword) and node.arg == "error_code":
                argument = node.value  # an UPDATE writing the code straight onto the row
            else:
                continue
            if argument is None:
                continue
            if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                if argument.value:  # "" clears the code of a job that succeeds or is requeued
                    found.setdefault(argument.value, []).append(where)
            elif isinstance(argument, ast.Name) and argument.id in CONSTANTS:
                found.setdefault(CONSTANTS[argument.id], []).append(where)
            elif isinstance(argument, ast.Attribute) and argument.attr in CONSTANTS:
                found.setdefault(CONSTANTS[argument.attr], []).append(where)
            else:
                passed_on.append(f"{where}: {ast.unparse(argument)}")
    return found, passed_on


def test_the_scan_finds_the_codes_of_every_layer():
    found, _passed_on = raised_codes()
    # pipeline (decoding, options), the worker (lost, timed out), uploads, the API: the scan reaches them all
    assert {"corrupt_audio", "invalid_options", "out_of_memory"} <= set(found)
    assert {"worker_lost", "timeout", "cancelled", "temporary_error", "internal_error"} <= set(found)
    assert {"file_too_large", "no_file", "queue_unavailable", "invalid_part", "not_found"} <= set(found)


def test_every_code_raised_has_an_entry_with_a_message_and_advice():
    found, _passed_on = raised_codes()
    missing = {code: places for code, places in found.items() if code not in error_codes.CODES}
    assert not missing, f"codes raised without an entry in jobs/error_codes.py: {missing}"
    for code in found:
        entry = error_codes.CODES[code]
        assert len(entry.message) > 10 and len(entry.advice) > 10, entry
        assert len(code) <= error_codes.MAX_CODE_LENGTH


def test_codes_passed_on_are_codes_raised_elsewhere():
    """A code that is not a literal or a constant may only be another error's ``.code`` passed on (a
    PipelineError becoming an upload refusal or a job failure), never a string built on the spot."""
    _found, passed_on = raised_codes()
    assert passed_on, "the scan should see the pipeline's errors passed on to jobs"
    for place in passed_on:
        assert place.endswith(".code"), place


def test_every_code_the_pipeline_names_has_an_entry():
    assert set(pipeline.ERROR_CODES) == {
        value for name, value in vars(pipeline_errors).items() if name.isupper() and isinstance(value, str)
    }
    assert set(pipeline.ERROR_CODES) <= set(error_codes.CODES)


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
