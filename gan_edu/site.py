"""The book as a website, built with Sphinx from the executed chapter notebooks.

    python -m gan_edu.site book [OUT]   the site from the committed notebooks (seconds)
    python -m gan_edu.site run [OUT]    execute every chapter into _build/run, then the site

Sphinx reads one source folder: this module stages it from site/ (configuration,
index, the local extension) and the chapters' executed notebooks, plus the
notebooks the pages offer for download (each chapter whole and per framework),
and the executed solutions to the exercises (solutions/), the instructors' pages.
Nothing is executed while the site is built; `run` executes first, into its own
folder, so that the committed notebooks stay as they are.
"""

import argparse
import contextlib
import io
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from gan_edu import book
from gan_edu.data import write_atomic

ROOT = book.ROOT
SITE = ROOT / "site"
BUILD = ROOT / "_build"
MARKER = ".gan-edu-site"  # in a folder the site was built into: it may be rebuilt
EXECUTED_MARKER = ".gan-edu-executed"  # in a folder `run` executed the chapters into
DOWNLOADS = "_extra/notebooks"  # conf.py copies _extra into the site; the pages link it
SOLUTIONS = ROOT / "solutions"  # worked exercises, executed: the instructors' part


def chapter_notebooks(folder):
    """The executed notebooks in `folder`, in the book's order."""
    paths = [Path(folder) / f"{source.stem}.ipynb" for source in book.chapter_sources()]
    missing = [p.name for p in paths if not p.exists()]
    if missing:
        raise FileNotFoundError(f"{folder} lacks {', '.join(missing)}")
    return paths


def wrap_tagged_markdown(notebook):
    """Put each framework-tagged markdown cell in a container of class tag_<framework>.

    MyST-NB keeps code cells' tags as classes but drops markdown cells' tags; the
    container carries the tag to the site's extension, which tabs such cells. A cell
    with a heading is left alone: headings cannot sit in a container.
    """
    for cell in notebook.cells:
        framework = book.framework_of(cell) if cell.cell_type == "markdown" else None
        if framework and not any(line.startswith("#") for line in cell.source.splitlines()):
            cell.source = f"::::::{{container}} tag_{framework}\n{cell.source}\n::::::"
    return notebook


def site_links(notebook):
    """Point the chapters' links to site/ pages (`../site/notes.md`) at the staged pages.

    In the repository a chapter links a page of the site as `../site/<page>.md`, which
    works where the notebooks are read (Jupyter, GitHub); in the site the pages stand
    beside the chapters.
    """
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            cell.source = cell.source.replace("](../site/", "](")
    return notebook


def stage(notebooks, src):
    """Write Sphinx's source folder `src` from site/ and the notebooks in `notebooks`."""
    shutil.copytree(SITE, src, ignore=shutil.ignore_patterns("__pycache__"))
    downloads = Path(src) / DOWNLOADS
    downloads.mkdir(parents=True)
    for path in chapter_notebooks(notebooks):
        shutil.copy(path, downloads / path.name)
        page = wrap_tagged_markdown(site_links(nbformat.read(path, as_version=4)))
        nbformat.write(page, Path(src) / path.name)
    (Path(src) / "solutions").mkdir()  # pages of their own, one framework, no tabs
    for path in sorted(SOLUTIONS.glob("[0-9][0-9]_*.ipynb")):
        shutil.copy(path, Path(src) / "solutions" / path.name)
    book.copy_images(src)        # the pages' figures (chapters/img), linked as img/<name>
    book.copy_images(downloads)  # beside the downloadable notebooks too
    with contextlib.redirect_stdout(io.StringIO()) as said:  # it names the temporary folder
        book.write_framework_notebooks(downloads)
    print(re.sub(r" in \S+", " to download", said.getvalue()), end="")


def build_site(notebooks, out, warnings_file=None):
    """The site in `out` from the executed notebooks in `notebooks`; the exit status.

    Sphinx's warnings go to the terminal and, where given, to the file `warnings_file`.
    """
    from sphinx.cmd.build import build_main
    out = Path(out)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "src"
        stage(notebooks, src)
        empty_claimed(out)
        options = ["-w", str(warnings_file)] if warnings_file else []
        status = build_main(["-b", "html", "-q", "-E", "-d", str(Path(tmp) / "doctrees"),
                             *options, str(src), str(out)])
    if status == 0:
        print(f"the site is in {out / 'index.html'} "
              f"({time.perf_counter() - start:.0f} s)")
    return status


def empty_claimed(out):
    """Empty `out` for a new build, if it is a folder this module may write (else exit).

    A folder it wrote carries a marker; one from before the marker holds a Sphinx
    build (its .buildinfo) or the pages of the earlier nbconvert build.
    """
    def earlier_build(out, path):
        return ((out / ".buildinfo").exists()
                or re.fullmatch(r"(\d\d_\w+|index)\.(html|ipynb)", path.name) is not None)
    book.claim_folder(out, MARKER, adopt=earlier_build)
    for child in out.iterdir():
        if child.name != MARKER:
            shutil.rmtree(child) if child.is_dir() else child.unlink()


def execute_notebook(source, target, timeout=1800):
    """Execute the chapter `source` (its jupytext source) into the notebook `target`."""
    import jupytext
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient
    notebook = jupytext.read(source)
    with tempfile.TemporaryDirectory() as sockets:
        # A local socket, not TCP: the kernel then has nothing to warn about.
        km = KernelManager(kernel_name="python3", transport="ipc",
                           ip=os.path.join(sockets, "kernel"))
        NotebookClient(notebook, timeout=timeout, km=km,
                       resources={"metadata": {"path": str(source.parent)}}).execute()
    write_atomic(target, nbformat.writes(notebook).encode())


def execute_chapters(out, timeout=1800):
    """Execute every chapter afresh from its jupytext source into out/<chapter>.ipynb."""
    out = Path(out)
    # Never over the chapters' own notebooks, nor into a folder of someone else's files.
    book.claim_folder(out, EXECUTED_MARKER, adopt=lambda out, path: re.fullmatch(
        r"\d\d_\w+\.ipynb", path.name) is not None)
    for source in book.chapter_sources():
        start = time.perf_counter()
        print(f"executing {source.name} ...", flush=True)
        execute_notebook(source, out / f"{source.stem}.ipynb", timeout)
        print(f"  {time.perf_counter() - start:.0f} s", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m gan_edu.site", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    site = commands.add_parser("book", help="the site from the committed notebooks")
    site.add_argument("out", nargs="?", default=str(BUILD / "book"))
    run = commands.add_parser("run", help="execute the chapters, then the site")
    run.add_argument("out", nargs="?", default=str(BUILD / "book"))
    run.add_argument("--executed", default=str(BUILD / "run"),
                     help="where the executed notebooks go (default: _build/run)")
    args = parser.parse_args(argv)

    if args.command == "run":
        execute_chapters(args.executed)
        return build_site(args.executed, args.out)
    return build_site(book.CHAPTERS, args.out)


if __name__ == "__main__":
    sys.exit(main())
