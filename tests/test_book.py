"""The book's tooling: library drift, per-framework notebooks, nbval as a regression test."""

import ast
import subprocess
import sys
from pathlib import Path

import jupytext
import nbformat
import pytest

from gan_edu import book

ROOT = Path(__file__).resolve().parent.parent


def test_library_matches_the_chapters():
    drift = book.library_drift()
    assert not drift, f"run `make lib`: {[str(p.relative_to(ROOT)) for p in drift]} drifted"


def test_saved_cells_reach_their_framework_module():
    modules = {m for source in book.chapter_sources() for m, _ in book.saved_cells(source)}
    assert {"torch", "tensorflow", "mxnet"} <= modules


def test_every_chapter_is_paired_and_tagged():
    for source in book.chapter_sources():
        notebook = jupytext.read(source)
        paired = nbformat.read(source.with_suffix(".ipynb"), as_version=4)
        assert [c.source for c in notebook.cells] == [c.source for c in paired.cells], (
            f"{source.name} and its .ipynb differ: run `jupytext --sync {source}`")
        tags = {book.framework_of(c) for c in notebook.cells if c.cell_type == "code"}
        assert tags == {None, "pytorch", "tensorflow", "mxnet"}, f"{source.name}: tags {tags}"


def test_executed_notebooks_have_no_warnings_and_png_figures_only():
    for source in book.chapter_sources():
        paired = nbformat.read(source.with_suffix(".ipynb"), as_version=4)
        for cell in paired.cells:
            for output in cell.get("outputs", []):
                assert output.get("name") != "stderr", (
                    f"{source.name}: stderr output {output.get('text', '')[:300]!r}")
                assert output.output_type != "error", f"{source.name}: an error output"
                assert "image/svg+xml" not in output.get("data", {}), f"{source.name}: SVG"


def test_split_keeps_shared_and_one_framework(tmp_path):
    cell, text = nbformat.v4.new_code_cell, nbformat.v4.new_markdown_cell
    notebook = nbformat.v4.new_notebook(cells=[
        text("# Title\n\nShared prose."),
        cell("shared = 1"),
        cell("import torch", metadata={"tags": ["pytorch"]}),
        text("## TensorFlow"), text("Keras prose."), cell("import tensorflow"),
        text("### A TensorFlow detail"),
        text("## MXNet"), text("Gluon prose."), cell("import mxnet"),
        text("## Comparison"), cell("compare()"),
    ])
    split = book.split_by_framework(notebook, "tensorflow")
    setup = [c for c in split.cells if "setup" in c.metadata.get("tags", [])]
    assert [c.cell_type for c in setup] == ["markdown", "code"]
    assert split.cells[1:3] == setup   # after the title line, before the rest
    assert "tensorflow-cpu==" in setup[0].source and "pip install -e ." in setup[0].source
    assert [c.source for c in split.cells if c not in setup] == [
        "# Title", "Shared prose.", "shared = 1", "## TensorFlow", "Keras prose.",
        "import tensorflow", "### A TensorFlow detail", "## Comparison", "compare()"]
    assert all(c.outputs == [] for c in split.cells if c.cell_type == "code")


def test_split_rejects_a_framework_heading_inside_a_cell():
    text = nbformat.v4.new_markdown_cell
    notebook = nbformat.v4.new_notebook(cells=[text("## Training\n\nShared.\n\n## PyTorch")])
    with pytest.raises(ValueError, match="must open its own cell"):
        book.split_by_framework(notebook, "pytorch")


def test_untagged_save_must_name_its_module(tmp_path, monkeypatch):
    chapter = tmp_path / "01_x.md"
    chapter.write_text("```python\n#@save\ndef f():\n    pass\n```\n")
    with pytest.raises(ValueError, match="must name its module"):
        list(book.saved_cells(chapter))


NOTEBOOK_WITH_OUTPUT = """{{
 "cells": [{{"cell_type": "code", "execution_count": 1, "metadata": {{}},
   "outputs": [{{"name": "stdout", "output_type": "stream", "text": "{stored}\\n"}}],
   "source": "print('answer 42, loss_D 0.{loss}, 1234.5 examples/sec')"}}],
 "metadata": {{"kernelspec": {{"name": "python3", "display_name": "Python 3",
   "language": "python"}}}},
 "nbformat": 4, "nbformat_minor": 5
}}"""


@pytest.mark.parametrize("answer, expected_exit", [(42, 0), (41, 1)])
def test_nbval_fails_on_a_changed_deterministic_output(tmp_path, answer, expected_exit):
    """Masked numbers (loss, throughput) may differ; a changed deterministic one fails."""
    stored = f"answer {answer}, loss_D 0.999, 99999.9 examples/sec"
    path = tmp_path / "check.ipynb"
    path.write_text(NOTEBOOK_WITH_OUTPUT.format(stored=stored, loss=123))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:xdist", "--nbval",
         "--nbval-current-env", "--nbval-sanitize-with",
         str(ROOT / "tests" / "nbval_sanitize.cfg"), str(path)],
        capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == expected_exit, result.stdout[-2000:]


FRAMEWORK_MODULES = {"torch", "tensorflow", "keras", "mxnet"}


def imported_frameworks(source):
    """The framework packages a cell imports, gan_edu's framework modules included."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module.split(".")[0])
            if node.module == "gan_edu":
                found |= {alias.name for alias in node.names}
    return found & FRAMEWORK_MODULES


@pytest.mark.parametrize("source", book.chapter_sources(), ids=lambda p: p.stem)
def test_shared_cells_import_no_framework(source):
    """A reader with one framework runs every shared cell: no framework imports there."""
    for cell in jupytext.read(source).cells:
        if cell.cell_type == "code" and book.framework_of(cell) is None:
            code = "\n".join(line for line in cell.source.splitlines()
                             if not line.lstrip().startswith(("%", "!")))
            assert not imported_frameworks(code), cell.source[:200]


# What must not appear in another framework's notebook: the names in headings and code
# (comments included); in code also the modules' usual aliases.
FRAMEWORK_NAMES = {"pytorch": r"pytorch|\btorch\b",
                   "tensorflow": r"tensorflow|keras|\btf\.",
                   "mxnet": r"mxnet|gluon|\bmx\.|\bnd\."}


@pytest.mark.parametrize("framework", ["pytorch", "tensorflow", "mxnet"])
@pytest.mark.parametrize("source", book.chapter_sources(), ids=lambda p: p.stem)
def test_split_has_no_other_framework_names(source, framework):
    """A one-framework notebook names no other framework in a heading or a code cell.

    Shared prose may still compare the frameworks (e.g. "How the three versions
    differ"); only headings and code are checked, and nothing is executed.
    """
    import re
    others = re.compile("|".join(pattern for name, pattern in FRAMEWORK_NAMES.items()
                                 if name != framework), re.IGNORECASE)
    split = book.split_by_framework(jupytext.read(source), framework)
    found = []
    for cell in split.cells:
        if cell.cell_type == "code":
            found += [f"code: {line.strip()}" for line in cell.source.splitlines()
                      if others.search(line)]
        else:
            found += [f"heading: {text}" for _, _, text in book.headings(cell)
                      if others.search(text)]
    assert not found, f"{source.name}, {framework} notebook:\n" + "\n".join(found)
    sections = [text for cell in split.cells if cell.cell_type == "markdown"
                for _, _, text in book.headings(cell) if text in book.TITLES.values()]
    assert sections == [book.TITLES[framework]], sections


IMAGE_LINK = r"!\[[^\]]*\]\(([^)\s]+)"  # a markdown image: its target


def linked_images(text):
    """The local images a chapter's markdown links (web addresses left out)."""
    import re
    return [target for target in re.findall(IMAGE_LINK, text) if "://" not in target]


@pytest.mark.parametrize("source", book.chapter_sources(), ids=lambda p: p.stem)
def test_chapter_images_exist_in_chapters_img(source):
    """Every image a chapter shows is a file in chapters/img, which the site and the
    per-framework notebooks copy along (linked as img/<name>, it works in Jupyter too)."""
    for target in linked_images(source.read_text()):
        path = source.parent / target
        assert path.is_file(), f"{source.name} links a missing image {target}"
        assert path.resolve().parent == book.IMAGES, (
            f"{source.name}: {target} is not in chapters/img, so it is not copied along")


def test_framework_notebooks_find_their_images(tmp_path, capsys):
    """`make notebooks` puts the figures beside each framework's notebooks."""
    book.write_framework_notebooks(tmp_path)
    written = sorted(tmp_path.glob("*/*.ipynb"))
    assert written
    for path in written:
        text = "\n".join(cell.source for cell in nbformat.read(path, as_version=4).cells
                         if cell.cell_type == "markdown")
        for target in linked_images(text):
            assert (path.parent / target).is_file(), f"{path}: {target} not found"


def test_figures_are_reproduced_by_their_script():
    """scripts/draw_figures.py is the source of chapters/img/*.svg: rerun, byte for byte."""
    script = book.ROOT / "scripts" / "draw_figures.py"
    done = subprocess.run([sys.executable, str(script), "--check"], capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stdout + done.stderr


SOLUTIONS = sorted((ROOT / "solutions").glob("[0-9][0-9]_*.md"))


def exercises(chapter):
    """The numbered items of a chapter's Exercises section."""
    import re
    text = chapter.read_text()
    section = text.split("\n## Exercises\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^(\d+)\. ", section, re.M)


def test_every_chapter_has_its_solutions():
    """One solutions notebook per chapter, one section per exercise, in order."""
    import re
    assert [p.name for p in SOLUTIONS] == [p.name for p in book.chapter_sources()]
    for source, chapter in zip(SOLUTIONS, book.chapter_sources()):
        answered = re.findall(r"^## Exercise (\d+):", source.read_text(), re.M)
        assert answered == exercises(chapter), f"{source.name}: exercises {answered}"
        assert "solutions/" not in chapter.read_text(), f"{chapter.name} links the solutions"


@pytest.mark.parametrize("source", SOLUTIONS, ids=lambda p: p.stem)
def test_solutions_are_paired_executed_and_quiet(source):
    """Each solutions notebook: .md and .ipynb agree, every code cell ran, without
    warnings or errors, figures as PNG, and no framework tags (one framework, no tabs)."""
    notebook = jupytext.read(source)
    paired = nbformat.read(source.with_suffix(".ipynb"), as_version=4)
    assert [c.source for c in notebook.cells] == [c.source for c in paired.cells], (
        f"{source.name} and its .ipynb differ: run `jupytext --sync {source}`")
    code = [c for c in paired.cells if c.cell_type == "code"]
    assert code and all(c.execution_count for c in code), f"{source.name} is not executed"
    counts = [c.execution_count for c in code]
    assert counts == list(range(1, len(code) + 1)), f"{source.name}: ran out of order {counts}"
    for cell in paired.cells:
        assert book.framework_of(cell) is None, f"{source.name}: a framework-tagged cell"
        for output in cell.get("outputs", []):
            assert output.get("name") != "stderr", (
                f"{source.name}: stderr output {output.get('text', '')[:300]!r}")
            assert output.output_type != "error", f"{source.name}: an error output"
            assert "image/svg+xml" not in output.get("data", {}), f"{source.name}: SVG"


def test_readme_results_are_the_notebooks():
    from gan_edu import results
    assert results.main(["--check"]) == 0, "run `make results`"


@pytest.mark.parametrize("source", book.chapter_sources(), ids=lambda path: path.stem)
def test_a_one_framework_reader_reads_at_most_3000_words(source):
    """The shared prose plus one framework's: longer digressions go to the notes page."""
    notebook = jupytext.read(source)
    owners = book.cell_frameworks(notebook)
    for framework in book.TAGS:
        words = sum(len(cell.source.split()) for cell, owner in zip(notebook.cells, owners)
                    if cell.cell_type == "markdown" and owner in (None, framework))
        assert words <= 3000, f"{source.stem}: a {framework} reader reads {words} words"
