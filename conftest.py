"""Test order for `make test`: the longest files first.

pytest-xdist's `--dist loadfile` hands whole files to its workers in collection order,
so a long chapter collected last keeps one worker busy while the other idles. The
chapters' notebooks record how long each cell took when they were last executed;
their files go first, longest first, then the test files.
"""

from datetime import datetime

import nbformat


def recorded_seconds(path):
    """Seconds the executed notebook at `path` spent in its code cells."""
    total = 0.0
    for cell in nbformat.read(path, as_version=4).cells:
        timing = cell.get("metadata", {}).get("execution", {})
        if "iopub.execute_input" in timing and "shell.execute_reply" in timing:
            start, end = (datetime.fromisoformat(timing[key].replace("Z", "+00:00"))
                          for key in ("iopub.execute_input", "shell.execute_reply"))
            total += (end - start).total_seconds()
    return total


def pytest_collection_modifyitems(items):
    seconds = {}
    for item in items:
        path = item.path
        if path not in seconds:
            seconds[path] = recorded_seconds(path) if path.suffix == ".ipynb" else 0.0
    # sorted() is stable: within a file and among the test files the order stays.
    items[:] = sorted(items, key=lambda item: -seconds[item.path])
