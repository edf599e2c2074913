"""Execute chapters in place: chapters/NN_name.md -> its paired chapters/NN_name.ipynb.

    python scripts/execute_chapters.py 03_dcgan 05_infogan ...   (default: every chapter)

What the book's authors run after changing a chapter's code (readers use `make run`,
which leaves the committed notebooks alone). Each notebook runs in its own kernel with
the environment of `make test` (OMP_NUM_THREADS=1 unless set); `-j 2` runs two at once.
"""

import argparse
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor

# Before gan_edu is imported: it would give every kernel all the cores, and two kernels
# at once (-j 2) would then fight over them.
os.environ.setdefault("OMP_NUM_THREADS", "1")

from gan_edu import book  # noqa: E402
from gan_edu.site import execute_notebook  # noqa: E402


def execute(source):
    """Execute one chapter; a failure is reported, and the other chapters go on."""
    start = time.perf_counter()
    try:
        execute_notebook(source, source.with_suffix(".ipynb"), timeout=3600)
    except Exception as error:  # whatever stopped it: the others still run
        return False, f"{source.name}: FAILED, notebook left as it was\n{error}"
    return True, f"{source.name}: {time.perf_counter() - start:.0f} s"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("chapters", nargs="*", help="chapter names, e.g. 03_dcgan")
    parser.add_argument("-j", "--jobs", type=int, default=1)
    args = parser.parse_args(argv)
    sources = {s.stem: s for s in book.chapter_sources()}
    unknown = [name for name in args.chapters if name not in sources]
    if unknown:
        raise SystemExit(f"unknown chapters {unknown}; choose from {sorted(sources)}")
    chosen = [sources[name] for name in args.chapters] or list(sources.values())
    with ThreadPoolExecutor(args.jobs) as pool:
        outcomes = []
        for passed, line in pool.map(execute, chosen):
            print(line, flush=True)
            outcomes.append(passed)
    return 0 if all(outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
