"""Fixtures of the parity tests: a test file that sets CHAPTER gets that chapter's
parity table, computed once for the file (see parity_checks.py)."""

import pytest


@pytest.fixture(scope="module")
def chapter(request):
    """The chapter number that the requesting test file sets as CHAPTER."""
    return request.module.CHAPTER


@pytest.fixture(scope="module")
def table(chapter):
    """The chapter's gan_edu.parity_table.ParityTable, in every framework."""
    from gan_edu.parity import FRAMEWORKS, MODULES
    from gan_edu.parity_table import chapter_table
    for fw in FRAMEWORKS:
        pytest.importorskip(MODULES[fw])
    return chapter_table(chapter)
