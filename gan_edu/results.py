"""The README's results table, made from the executed chapters.

    python -m gan_edu.results           rewrite the table in README.md (`make results`)
    python -m gan_edu.results --check   exit 1 if README.md's table is not the notebooks'

Each chapter ends by checking its bar with `gan_edu.check_bar`, which prints one line
per framework (or model): `<who>: <the bar met> (measured: <figures>)`. The table lists
those lines with each framework's training time and throughput (see `gan_edu.bench`).
"""

import argparse
import re
import sys
from pathlib import Path

import nbformat

from gan_edu import bench, book
from gan_edu.data import write_atomic

README = book.ROOT / "README.md"
START = "<!-- results: made by `make results` from the executed chapters; do not edit -->"
END = "<!-- end of results -->"
VERDICT = re.compile(r"^(?P<who>[^:\n]+): (?P<verdict>.+) \(measured: (?P<measured>[^)]*)\)$",
                     re.MULTILINE)


def verdicts(notebook):
    """(who, verdict, measured) of every verdict line the notebook printed."""
    for cell in notebook.cells:
        if cell.cell_type == "code" and "check_bar(" in cell.source:
            for output in cell.get("outputs", []):
                for match in VERDICT.finditer(output.get("text", "")):
                    yield match.group("who", "verdict", "measured")


def title(notebook):
    first = notebook.cells[0].source if notebook.cells else ""
    return first.splitlines()[0].lstrip("# ").strip() if first.startswith("# ") else "?"


def training(rows, who):
    """'seconds s (N examples/sec)' of the framework that `who` names."""
    for framework, name in book.TITLES.items():
        if who.startswith(name):
            r = rows[framework]
            speeds = " / ".join(f"{s:,.0f}" for s in r["speeds"])
            return f"{r['train']:.0f} s ({speeds} examples/sec)"
    return ""


def table(folder=book.CHAPTERS):
    """The markdown table, between its START and END markers."""
    lines = [START, "", "| chapter | who | bar met | measured | training (throughput) |",
             "|---|---|---|---|---|"]
    for source in book.chapter_sources():
        notebook = nbformat.read(Path(folder) / f"{source.stem}.ipynb", as_version=4)
        rows, _ = bench.chapter_times(notebook)
        link = f"[{title(notebook)}](chapters/{source.name})"
        for who, verdict, measured in verdicts(notebook):
            cells = [link, who, verdict, measured, training(rows, who)]
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
            link = ""  # the chapter once, on its first row
    return "\n".join(lines + ["", END])


def readme_with(text, new_table):
    if START not in text or END not in text:
        raise SystemExit(f"README.md lacks the markers {START!r} and {END!r} around the table")
    head, rest = text.split(START, 1)
    return head + new_table + rest.split(END, 1)[1]


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m gan_edu.results", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="fail if README.md differs")
    args = parser.parse_args(argv)
    text = README.read_text()
    updated = readme_with(text, table())
    if args.check:
        if updated != text:
            print("README.md's results table differs from the executed chapters; "
                  "run `make results`")
            return 1
        return 0
    if updated != text:
        write_atomic(README, updated.encode())
        print("updated the results table in README.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
