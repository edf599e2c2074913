"""Sphinx configuration of the book's website.

`python -m gan_edu.site` copies this folder and the executed chapter notebooks into
one source folder and builds it; nothing is executed here (the notebooks carry their
outputs). Everything the pages load is local, so the site reads offline from file://.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "_ext"))

project = "GANs, three ways"
author = "the gan-edu authors"
copyright = "the gan-edu authors"  # noqa: A001 (Sphinx's name)

extensions = [
    "myst_nb",
    "sphinx_design",
    "sphinx-mathjax-offline",  # MathJax 3 and its fonts, copied into _static/mathjax
    "framework_tabs",  # site/_ext: framework sections -> synced tabs, download links
]

# The chapters are committed executed; the site shows those outputs as they are.
nb_execution_mode = "off"
# Markdown cells use $...$, $$...$$ and amsmath environments.
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3
# Only the notebooks and the index are pages.
exclude_patterns = ["_build", "**.ipynb_checkpoints", "_extra"]
suppress_warnings = ["mystnb.unknown_mime_type"]

html_theme = "sphinx_book_theme"
html_title = project
html_static_path = ["_static"]
html_css_files = ["book.css"]
html_js_files = ["file-search.js"]
# A favicon of its own, or the browser asks the server for /favicon.ico.
html_favicon = "_static/favicon.png"
html_copy_source = False  # the download links point at the notebooks themselves
html_show_sourcelink = False
# The theme reads its colour mode from the context; left empty, it logs a console error.
html_context = {"default_mode": "light"}
html_theme_options = {
    "show_toc_level": 2,
    "use_download_button": False,
    "use_fullscreen_button": False,
    "navigation_with_keys": False,
    "home_page_in_toc": True,
}

# Staged by gan_edu.site: _extra/notebooks/, the notebooks the pages link for download.
html_extra_path = ["_extra"]
