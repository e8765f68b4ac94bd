"""The production stack of stack.py as a session fixture; failing tests get every service's log tail."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from metalizer_site.tests.integration import services
from metalizer_site.tests.production.stack import Stack, production_stack


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.failed and call.when != "teardown":
        for path, name in services.session_logs().items():
            lines = path.read_text(errors="replace").splitlines() if path.exists() else []
            lines = [line for line in lines if "celery.redirected" not in line]
            report.sections.append((f"log of {name} ({path})", "\n".join(lines[-40:])))


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("production")
    try:
        with production_stack(workdir) as running:
            yield running
    except services.ServiceError as exc:
        pytest.fail(f"the production stack did not start: {exc}", pytrace=False)
