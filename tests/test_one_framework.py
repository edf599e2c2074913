"""Every one-framework notebook (`make notebooks`) runs where the other two frameworks
are missing, at the smoke scale: a reader with one framework installed can run it."""

import os

import jupytext
import pytest

from gan_edu import book

HIDE = '''
import importlib.machinery, sys
class Hide(importlib.machinery.PathFinder):
    """Pretend that some frameworks are not installed: their modules are not found."""
    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name.split(".")[0] in {hidden}:
            return None
        return importlib.machinery.PathFinder.find_spec(name, path, target)
sys.meta_path = [Hide if f is importlib.machinery.PathFinder else f for f in sys.meta_path]
'''
OTHERS = {"pytorch": ["tensorflow", "keras", "mxnet"],
          "tensorflow": ["torch", "mxnet"], "mxnet": ["torch", "tensorflow", "keras"]}


@pytest.mark.parametrize("framework", list(OTHERS))
@pytest.mark.parametrize("source", book.chapter_sources(), ids=lambda path: path.stem)
def test_one_framework_notebook_runs_alone(tmp_path, monkeypatch, source, framework):
    from nbclient import NotebookClient
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(HIDE.format(hidden=set(OTHERS[framework])))
    notebook = book.split_by_framework(jupytext.read(source), framework)
    monkeypatch.setenv("PYTHONPATH", f"{site}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    monkeypatch.setenv("GAN_EDU_SCALE", "smoke")
    # The timeout only catches a hung kernel.
    NotebookClient(notebook, timeout=1800, kernel_name="python3",
                   resources={"metadata": {"path": str(source.parent)}}).execute()
    printed = "".join(o.get("text", "") for c in notebook.cells for o in c.get("outputs", []))
    assert "bar not checked" in printed or "(measured:" in printed, "no verdict line"
