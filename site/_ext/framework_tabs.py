"""The book's Sphinx extension: one framework, chosen once, for the whole book.

A chapter notebook has places where its PyTorch, TensorFlow and MXNet versions
follow each other, each under a heading of the framework's name, and its code cells
carry a framework tag. After MyST-NB has parsed a notebook, this transform

- turns each run of sibling sections titled PyTorch / TensorFlow / MXNet into one
  sphinx-design tab set, so the framework headings leave the page outline and the
  shared cells around them stay outside the tabs;
- puts framework-tagged cells that stand outside such sections into a tab set too
  (code cells carry MyST-NB's class ``tag_<framework>``; a tagged markdown cell is
  wrapped in a container of that class when the site's sources are staged);
- adds links to the chapter's notebook and its single-framework notebooks.

The tab sets share one sync group, so sphinx-design's script switches every tab set
on the page together and keeps the choice in localStorage for the other pages.
"""

from docutils import nodes
from sphinx.transforms import SphinxTransform
from sphinx_design.shared import create_component

FRAMEWORKS = {"pytorch": "PyTorch", "tensorflow": "TensorFlow", "mxnet": "MXNet"}
SYNC_GROUP = "framework"
# MyST-NB's class for a tagged code cell; docutils spells a directive's class tag-<name>.
TAG_CLASSES = {f"tag{sep}{name}": name for name in FRAMEWORKS for sep in "_-"}
NOTEBOOKS = "notebooks"  # staged in _extra/ (see conf.py), copied as is into the site


def framework_of_section(node):
    """'pytorch' etc. when `node` is a section headed by a framework's name."""
    if not isinstance(node, nodes.section) or not node.children:
        return None
    title = node.children[0].astext().strip()
    return next((name for name, text in FRAMEWORKS.items() if text == title), None)


def framework_of_cell(node):
    """'pytorch' etc. when `node` is a cell (or wrapped markdown) with a framework tag."""
    if not isinstance(node, nodes.container):
        return None
    return next((TAG_CLASSES[c] for c in node.get("classes", []) if c in TAG_CLASSES), None)


def runs(children, key):
    """Maximal runs of consecutive children for which key(child) is not None."""
    run = []
    for child in list(children) + [None]:
        if child is not None and key(child):
            run.append(child)
            continue
        if run:
            yield run
        run = []


def flatten_sections(content):
    """Replace nested sections by a rubric and their content.

    Sections may only sit in sections, not in a tab's container; a rubric keeps the
    heading (and its anchor) on the page without adding it to the outline.
    """
    for section in list(content.findall(nodes.section)):
        title = section.children[0]
        rubric = nodes.rubric(title.astext(), "", *title.children, ids=section["ids"],
                              classes=["framework-heading"])
        section.replace_self([rubric, *section.children[1:]])


def tab_set(contents):
    """A sphinx-design tab set with one tab per framework, in the book's order.

    `contents` maps a framework to the nodes of its tab; a framework without any
    gets a short note, so that the tab sets always switch together.
    """
    tabs = create_component("tab-set", classes=["sd-tab-set", "framework-tabs"])
    for name, title in FRAMEWORKS.items():
        label = nodes.rubric(title, title, classes=["sd-tab-label"],
                             sync_id=name, sync_group=SYNC_GROUP)
        content = create_component("tab-content", classes=["sd-tab-content"])
        body = contents.get(name) or [nodes.paragraph(
            text=f"This part has no {title} version.", classes=["framework-missing"])]
        content.extend(body)
        flatten_sections(content)
        item = create_component("tab-item", classes=["sd-tab-item"], selected=False,
                                children=[label, content])
        tabs += item
    return tabs


class FrameworkTabs(SphinxTransform):
    """Framework sections and tagged cells -> synced tab sets; notebook links."""

    # After MyST-NB's parse, before Sphinx's collectors read the sections for the
    # outline and the section numbers (those run on doctree-read, after transforms).
    default_priority = 500

    def apply(self):
        if not self.env.doc2path(self.env.docname).suffix == ".ipynb":
            return
        for parent in list(self.document.findall(
                lambda n: isinstance(n, (nodes.document, nodes.section)))):
            self.tab_sections(parent)
        for parent in list(self.document.findall(nodes.Element)):
            if not parent.get("design_component"):
                self.tab_cells(parent)
        self.add_downloads()

    def tab_sections(self, parent):
        for run in list(runs(parent.children, framework_of_section)):
            contents = {}
            for section in run:
                # The section's anchor moves to its tab's content, so links still land.
                contents.setdefault(framework_of_section(section), []).extend(
                    [nodes.target(ids=section["ids"])] + section.children[1:])
            tabs = tab_set(contents)
            parent.replace(run[0], tabs)
            for section in run[1:]:
                parent.remove(section)

    def tab_cells(self, parent):
        if self.inside_tabs(parent):
            return
        for run in list(runs(parent.children, framework_of_cell)):
            contents = {}
            for cell in run:
                contents.setdefault(framework_of_cell(cell), []).append(cell)
            tabs = tab_set(contents)
            parent.replace(run[0], tabs)
            for cell in run[1:]:
                parent.remove(cell)

    @staticmethod
    def inside_tabs(node):
        while node is not None:
            if node.get("design_component") == "tab-set":
                return True
            node = node.parent
        return False

    def add_downloads(self):
        """Links to the notebook and its single-framework notebooks, under the title."""
        docname = self.env.docname
        root = "../" * docname.count("/")
        srcdir = self.env.srcdir
        links = [("Notebook (all three)", f"{NOTEBOOKS}/{docname}.ipynb")]
        links += [(title, f"{NOTEBOOKS}/{name}/{docname}.ipynb")
                  for name, title in FRAMEWORKS.items()]
        links = [(text, path) for text, path in links if (srcdir / "_extra" / path).exists()]
        if not links:
            return
        paragraph = nodes.paragraph(classes=["notebook-downloads"])
        paragraph += nodes.inline(text="Download: ", classes=["notebook-downloads-label"])
        for i, (text, path) in enumerate(links):
            if i:
                paragraph += nodes.Text(" · ")
            paragraph += nodes.reference(text, text, refuri=root + path,
                                         classes=["download"])
        section = next(iter(self.document.findall(nodes.section)), None)
        if section is not None:
            section.insert(1, paragraph)


def setup(app):
    app.add_transform(FrameworkTabs)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
