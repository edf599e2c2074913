"""Tooling that keeps the book in one piece.

    python -m gan_edu.book lib [--check]    copy `#@save` cells into the library
    python -m gan_edu.book notebooks [OUT]  one notebook per chapter and framework
    python -m gan_edu.book smoke [OUT]      the same plus every chapter, for `make smoke`

The chapters are the source of truth. A code cell whose first line is `#@save`
goes verbatim into the module of its framework tag (`pytorch` -> gan_edu/torch.py,
`tensorflow` -> gan_edu/tensorflow.py, `mxnet` -> gan_edu/mxnet.py); an untagged
cell names a framework-neutral module that has the marker line, e.g. `#@save training`.
Each library module keeps a hand-written head above the marker line and the generated
part below it. The website is built by `gan_edu.site`.
"""

import argparse
import re
import sys
from pathlib import Path

import jupytext
import nbformat

from gan_edu.data import write_atomic

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = ROOT / "chapters"
IMAGES = CHAPTERS / "img"  # the chapters' figures, linked from them as img/<name>
PACKAGE = ROOT / "gan_edu"
TAGS = {"pytorch": "torch", "tensorflow": "tensorflow", "mxnet": "mxnet"}
TITLES = {"pytorch": "PyTorch", "tensorflow": "TensorFlow", "mxnet": "MXNet"}
MARKER = "# ---- Saved from the chapters by `make lib`: edit the chapters, not below. ----\n"
SAVE = re.compile(r"#@save(?:[ \t]+(\w+))?[ \t]*$")
# Anything that looks like an attempt at the marker; checked so that none is ignored.
NEAR_SAVE = re.compile(r"#\s*@\s*save", re.IGNORECASE)
# Written into a folder that `notebooks` creates: the folder and its notebooks are ours.
NOTEBOOKS_MARKER = ".gan_edu_notebooks"


def chapter_sources():
    """The jupytext sources of the chapters, in reading order."""
    return sorted(CHAPTERS.glob("[0-9][0-9]_*.md"))


def framework_of(cell):
    """The framework tag of a cell, or None for a shared cell."""
    tags = [t for t in cell.metadata.get("tags", []) if t in TAGS]
    if len(tags) > 1:
        raise ValueError(f"a cell carries several framework tags {tags}:\n{cell.source[:200]}")
    return tags[0] if tags else None


def saved_cells(source):
    """(module name, code) for every `#@save` cell of a chapter source."""
    notebook = jupytext.read(source)
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        first, _, body = cell.source.partition("\n")
        match = SAVE.match(first)
        _check_save_markers(source, cell.source, exact=bool(match))
        if not match:
            continue
        tag, module = framework_of(cell), match.group(1)
        if tag and module:
            raise ValueError(f"{source.name}: a {tag} cell saves into its framework's module; "
                             f"drop the name in '#@save {module}'")
        if not tag and not module:
            raise ValueError(f"{source.name}: an untagged '#@save' cell must name its module, "
                             f"e.g. '#@save plot':\n{cell.source[:200]}")
        yield (TAGS[tag] if tag else module), body.strip("\n")


def _check_save_markers(source, code, exact):
    """Refuse a `#@save` that is misspelt or misplaced rather than skip the cell."""
    lines = code.splitlines()
    for number, line in enumerate(lines[1:] if exact else lines, start=2 if exact else 1):
        if NEAR_SAVE.search(line):
            raise ValueError(
                f"{source.name}: line {number} of a code cell reads {line.strip()!r}; a saved "
                "cell's first line is exactly '#@save' (framework cells) or "
                f"'#@save <module>' (untagged cells):\n{code[:200]}")


def library_text(module, blocks):
    """A module's hand-written head followed by the chapters' saved code."""
    path = PACKAGE / f"{module}.py"
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist; create it with a head and the marker "
                                f"line {MARKER.strip()!r}")
    text = path.read_text()
    if MARKER not in text:
        raise ValueError(f"{path} lacks the marker line {MARKER.strip()!r}; add it below the "
                         f"module's hand-written part to save cells into {module}")
    head = text.split(MARKER)[0]
    saved = "".join(f"\n\n# Defined in chapters/{name}\n{code}\n" for name, code in blocks)
    return head + MARKER + saved


def library():
    """{path: text} of every library module as the chapters define it."""
    blocks = {module: [] for module in TAGS.values()}
    for source in chapter_sources():
        for module, code in saved_cells(source):
            blocks.setdefault(module, []).append((source.name, code))
    return {PACKAGE / f"{m}.py": library_text(m, b) for m, b in blocks.items()}


def library_drift():
    """The library modules whose generated part differs from the chapters."""
    return [path for path, text in library().items() if path.read_text() != text]


HEADING = re.compile(r"(#{1,6})[ \t]+(.*?)[ \t#]*$")
FENCE = re.compile(r"[ \t]*(```|~~~)")
# What a one-framework notebook asks its reader to install: requirements.txt's pins.
SETUP_PACKAGES = {"pytorch": ["torch"], "tensorflow": ["tensorflow-cpu", "keras"],
                  "mxnet": ["mxnet"]}
SETUP_SHARED = ["numpy", "matplotlib", "scikit-learn", "scipy", "tqdm"]


def headings(cell):
    """(line number, level, text) of every heading of a markdown cell, fenced code skipped."""
    found, fenced = [], False
    for number, line in enumerate(cell.source.splitlines()):
        if FENCE.match(line):
            fenced = not fenced
        match = None if fenced else HEADING.match(line)
        if match:
            found.append((number, len(match.group(1)), match.group(2)))
    return found


def cell_frameworks(notebook):
    """The framework each cell belongs to (None for a shared cell), in cell order.

    The rule: a cell with a framework tag belongs to that framework, wherever it stands.
    An untagged markdown cell that opens with a heading named after a framework
    (`## PyTorch`, `## TensorFlow`, `## MXNet`) starts that framework's section; the
    section runs to the next heading of the same or a higher level, and every cell in
    it, the heading's cell included, belongs to the framework. A framework heading must
    open its own cell, and a heading that ends a section must open its cell, so that no
    cell is half in a section; a cell in one framework's section must not carry another
    framework's tag. Anything else is shared.
    """
    names = {title.lower(): tag for tag, title in TITLES.items()}
    owners, section = [], None   # section: (framework, heading level) or None
    for index, cell in enumerate(notebook.cells):
        tag = framework_of(cell)
        marks = headings(cell) if cell.cell_type == "markdown" else []
        for number, level, text in marks:
            where = f"cell {index} ({cell.source.splitlines()[0][:60]!r})"
            starts = names.get(text.lower()) if not tag else None
            closes = section is not None and level <= section[1]
            if (starts or closes) and number != 0:
                raise ValueError(f"{where}: the heading {text!r} must open its own cell "
                                 f"(put two blank lines before it in the .md source)")
            if starts:
                section = (starts, level)
            elif closes:
                section = None
        if section and tag and tag != section[0]:
            raise ValueError(f"cell {index} is tagged {tag!r} but stands in the "
                             f"{TITLES[section[0]]} section:\n{cell.source[:200]}")
        owners.append(tag or (section[0] if section else None))
    return owners


def _pins():
    """{package: version} from requirements.txt."""
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        name, _, version = line.split("#")[0].strip().partition("==")
        if version:
            pins[name.lower()] = version
    return pins


def setup_cells(framework):
    """A markdown cell saying what to install for `framework`, and one printing versions."""
    pins, title = _pins(), TITLES[framework]
    packages = SETUP_SHARED[:1] + SETUP_PACKAGES[framework] + SETUP_SHARED[1:]
    pip = " ".join(f"{p}=={pins[p]}" for p in packages)
    text = (f"**Set-up.** This notebook needs {title} only. In a fresh environment "
            f"(Python 3.10 or newer), install the versions the book was run with, then the "
            f"book's helper package `gan_edu` from the root of its repository:\n\n"
            f"```bash\npip install {pip}\npip install -e .\n```\n\n"
            f"The next cell prints the versions you have.")
    framework_line = {
        "pytorch": 'print(f"PyTorch {installed(\'torch\')}")',
        "tensorflow": ('print(f"TensorFlow {installed(\'tensorflow-cpu\', \'tensorflow\')}, "\n'
                       '      f"Keras {installed(\'keras\')}")'),
        "mxnet": 'print(f"MXNet {installed(\'mxnet\')}")',
    }[framework]
    code = ("import sys\n"
            "from importlib.metadata import PackageNotFoundError, version\n\n\n"
            "def installed(*names):\n"
            "    \"\"\"The version of the first of `names` that is installed.\"\"\"\n"
            "    for name in names:\n"
            "        try:\n"
            "            return version(name)\n"
            "        except PackageNotFoundError:\n"
            "            pass\n"
            "    return \"not installed\"\n\n\n"
            "print(f\"Python {sys.version.split()[0]}\")\n"
            "print(f\"numpy {installed(\'numpy\')}\")\n"
            f"{framework_line}")
    return [nbformat.v4.new_markdown_cell(text, metadata={"tags": [framework, "setup"]}),
            nbformat.v4.new_code_cell(code, metadata={"tags": [framework, "setup"]})]


def without_parity_cells(cells):
    """`cells` with the cross-framework comparison (cells tagged `parity`) replaced by a
    note: it needs all three frameworks, which a one-framework reader may not have."""
    kept, noted = [], False
    for cell in cells:
        if "parity" not in cell.metadata.get("tags", []):
            kept.append(cell)
        elif not noted:
            kept.append(nbformat.v4.new_markdown_cell(
                "*The comparison table is computed in the chapter's full notebook, with all "
                "three frameworks installed.*"))
            noted = True
    return kept


def split_by_framework(notebook, framework):
    """A copy of `notebook` for readers of one framework, outputs cleared.

    It keeps the shared cells and `framework`'s cells (see `cell_frameworks`), drops the
    other frameworks' sections with their headings, and opens with set-up cells: what
    to install, and the versions installed. The set-up follows the title line.
    """
    copy = nbformat.from_dict(notebook)
    owners = cell_frameworks(copy)
    copy.cells = [c for c, owner in zip(copy.cells, owners) if owner in (None, framework)]
    copy.cells = without_parity_cells(copy.cells)
    for cell in copy.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    at = 0
    first = copy.cells[0] if copy.cells else None
    if first is not None and first.cell_type == "markdown" and first.source.startswith("# "):
        title, _, rest = first.source.partition("\n")
        copy.cells[:1] = [nbformat.v4.new_markdown_cell(title, metadata=first.metadata)]
        if rest.strip():
            copy.cells.insert(1, nbformat.v4.new_markdown_cell(rest.strip("\n"),
                                                               metadata=first.metadata))
        at = 1
    copy.cells[at:at] = setup_cells(framework)
    copy.metadata.pop("jupytext", None)
    copy.metadata["gan_edu"] = {"framework": framework}
    return copy


def write_framework_notebooks(out):
    """Write out/<framework>/<chapter>.ipynb for each installed framework."""
    from gan_edu import installed
    for framework in TAGS:
        if not installed(framework):
            print(f"{TITLES[framework]} is not installed: skipped its notebooks "
                  f"(pip install -r requirements.txt installs all three frameworks).")
            continue
        folder = Path(out) / framework
        folder.mkdir(parents=True, exist_ok=True)
        for source in chapter_sources():
            notebook = split_by_framework(jupytext.read(source), framework)
            nbformat.write(notebook, folder / f"{source.stem}.ipynb")
        copy_images(folder)
        print(f"{TITLES[framework]}: {len(chapter_sources())} notebooks in {folder}")


def copy_images(folder):
    """Copy the chapters' figures (chapters/img) into folder/img, where the notebooks
    written there find them: the chapters link them as img/<name>."""
    import shutil
    if IMAGES.is_dir():
        shutil.copytree(IMAGES, Path(folder) / "img", dirs_exist_ok=True)


def write_smoke_notebooks(out):
    """Every chapter (out/chapters/) and every one-framework notebook, for a smoke run.

    Written from the jupytext sources, so that a change is checked before the paired
    notebooks are re-executed.
    """
    folder = Path(out) / "chapters"
    folder.mkdir(parents=True, exist_ok=True)
    for source in chapter_sources():
        nbformat.write(jupytext.read(source), folder / f"{source.stem}.ipynb")
    write_framework_notebooks(out)


def _write_atomically(path, text):
    """Write `path` all at once, through a fresh temporary file (a planted link is not
    followed) and a rename (which replaces a link at `path`, not what it points to)."""
    write_atomic(path, text.encode())


def claim_folder(out, marker, adopt=None):
    """Make `out` a folder this tool may write into, or exit saying why it may not.

    It may if it is new or empty, if it carries the file `marker` (written here, so
    the folder is ours), or if `adopt(path)` holds for everything in it (what the tool
    wrote before it left markers). Nothing is deleted here, and a caller may delete
    only what lies in a folder it has claimed.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise SystemExit(f"{out} is a file; name a new folder")
    if out.is_dir() and not (out / marker).exists():
        foreign = [p for p in out.rglob("*") if not (adopt and adopt(out, p))]
        if foreign:
            raise SystemExit(f"{out} already holds files that this command did not write "
                             f"(e.g. {foreign[0]}); name a new or empty folder")
    out.mkdir(parents=True, exist_ok=True)
    (out / marker).write_text("Written by gan_edu's book tools, which rewrite this folder.\n")


def _is_framework_notebook(out, path):
    """Whether `path` in `out` is what `notebooks` writes: <framework>/NN_name.ipynb."""
    parts = path.relative_to(out).parts
    return parts[0] in TAGS and (len(parts) == 1 and path.is_dir()
                                 or len(parts) == 2 and re.fullmatch(r"\d\d_\w+\.ipynb", parts[1]))


def _is_smoke_notebook(out, path):
    """Whether `path` in `out` is what `smoke` writes: chapters/NN_name.ipynb or a
    one-framework notebook."""
    parts = path.relative_to(out).parts
    if parts[0] != "chapters":
        return _is_framework_notebook(out, path)
    return len(parts) == 1 and path.is_dir() or (
        len(parts) == 2 and re.fullmatch(r"\d\d_\w+\.ipynb", parts[1]) is not None)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m gan_edu.book", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    lib = commands.add_parser("lib", help="copy #@save cells into gan_edu/")
    lib.add_argument("--check", action="store_true", help="fail if the library has drifted")
    notebooks = commands.add_parser("notebooks", help="per-framework notebooks")
    notebooks.add_argument("out", nargs="?", default=str(ROOT / "_build" / "notebooks"))
    smoke = commands.add_parser("smoke", help="chapters and per-framework notebooks")
    smoke.add_argument("out", nargs="?", default=str(ROOT / "_build" / "smoke"))
    args = parser.parse_args(argv)

    if args.command == "lib":
        drift = library_drift()
        if args.check:
            for path in drift:
                print(f"{path.relative_to(ROOT)} differs from the chapters' #@save cells; "
                      f"run `make lib`")
            return 1 if drift else 0
        for path, text in library().items():
            if path in drift:
                _write_atomically(path, text)
                print(f"updated {path.relative_to(ROOT)}")
        return 0
    if args.command == "notebooks":
        claim_folder(args.out, NOTEBOOKS_MARKER, adopt=_is_framework_notebook)
        write_framework_notebooks(args.out)
        return 0
    claim_folder(args.out, NOTEBOOKS_MARKER, adopt=_is_smoke_notebook)
    write_smoke_notebooks(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
