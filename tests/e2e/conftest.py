"""Every browser test here also checks that the console stayed quiet."""

import pytest


@pytest.fixture(autouse=True)
def quiet_console(console_problems):
    """Fail the test if a page logged an error or a warning, or threw, that it did not expect."""
    yield
    unexpected = console_problems.unexpected()
    assert unexpected == [], "\n".join(unexpected)
