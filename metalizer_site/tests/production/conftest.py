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
    services.attach_logs_on_failure(outcome.get_result(), call.when, tail=40)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("production")
    try:
        with production_stack(workdir) as running:
            yield running
    except services.ServiceError as exc:
        pytest.fail(f"the production stack did not start: {exc}", pytrace=False)
