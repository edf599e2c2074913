"""Execute chapters in place: chapters/NN_name.md -> its paired chapters/NN_name.ipynb.

    python scripts/execute_chapters.py 03_dcgan 05_infogan ...   (default: every chapter)

What the book's authors run after changing a chapter's code (readers use `make run`,
which leaves the committed notebooks alone). Each notebook runs in its own kernel with
the environment of `make test` (OMP_NUM_THREADS=1 unless set); `-j 2` runs two at once.
"""

import argparse
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import jupytext
import nbformat
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

from gan_edu import book


def execute(source, timeout=3600):
    start = time.perf_counter()
    notebook = jupytext.read(source)
    with tempfile.TemporaryDirectory() as sockets:
        # A local socket, not TCP: the kernel then has nothing to warn about.
        km = KernelManager(kernel_name="python3", transport="ipc",
                           ip=os.path.join(sockets, "kernel"))
        NotebookClient(notebook, timeout=timeout, km=km,
                       resources={"metadata": {"path": str(source.parent)}}).execute()
    target = source.with_suffix(".ipynb")
    temporary = target.with_name(f".{target.name}.executing")
    nbformat.write(notebook, temporary)
    temporary.replace(target)
    return f"{source.name}: {time.perf_counter() - start:.0f} s"


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
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    with ThreadPoolExecutor(args.jobs) as pool:
        for line in pool.map(execute, chosen):
            print(line, flush=True)


if __name__ == "__main__":
    sys.exit(main())
