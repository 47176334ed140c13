"""pytest plugin of goro: `pytest_plugins = ["goro.pytest_plugin"]` in a conftest.py.

Fixture `goro_no_leaks`: the test fails if goroutines it started are still running at its end
(after a grace period of retries, up to 1 second), naming each and where it was started. Ask
for it in a test's arguments, with `@pytest.mark.usefixtures("goro_no_leaks")`, or for a whole
module with `pytestmark = pytest.mark.usefixtures("goro_no_leaks")`.
"""

import pytest

from .testing import no_leaks


@pytest.fixture
def goro_no_leaks():
    with no_leaks():
        yield
