"""The website as a reader sees it, checked in a real browser.

The site is built as `make book` builds it, into a temporary folder, and read with
Debian's chromium through chromedriver (`make browser` installs both); nothing is
downloaded at run time. One browser serves the whole module. Screenshots of every
chapter page go to _build/screenshots/ for people to look at, with checks.json, the
counts behind the checks.
"""

import functools
import http.server
import json
import re
import shutil
import threading
import warnings
from pathlib import Path
from urllib.parse import urlparse

import pytest

from gan_edu import book, site

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
SHOTS = book.ROOT / "_build" / "screenshots"
CHAPTERS = [source.stem for source in book.chapter_sources()]
SOLUTIONS = sorted(path.stem for path in site.SOLUTIONS.glob("[0-9][0-9]_*.ipynb"))
FRAMEWORKS = {"pytorch": "PyTorch", "tensorflow": "TensorFlow", "mxnet": "MXNet"}
LOCAL_SCHEMES = {"file", "data", "blob", "about", "chrome"}
# TeX that MathJax should have replaced: $...$, \(...\), \[...\] or a TeX command.
RAW_TEX = re.compile(r"\$[^$\s][^$]*\$|\\[(\[]|\\(frac|begin|mathbf|mathcal|log|sum)\b")
COUNTS = {}  # what the checks saw, written to _build/screenshots/checks.json


@pytest.fixture(scope="module")
def site_dir(tmp_path_factory):
    """The site, built from the committed notebooks as `make book` builds it."""
    out = tmp_path_factory.mktemp("site") / "book"
    log = out.with_name("sphinx-warnings.txt")
    with warnings.catch_warnings():  # the theme's own Sphinx deprecations are not ours
        warnings.simplefilter("ignore")
        assert site.build_site(book.CHAPTERS, out, warnings_file=log) == 0, "Sphinx failed"
    assert not log.read_text().strip(), f"Sphinx warned:\n{log.read_text()}"
    return out


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """Headless chromium that logs the console and every request it makes."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        pytest.fail(f"{', '.join(missing)} missing: the browser tests need Debian's chromium "
                    f"and chromedriver; run `make browser` or "
                    f"`apt-get install chromium chromium-driver`")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--window-size=1280,1000",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    # A driver path given here keeps Selenium Manager (which downloads) out of it.
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(60)  # MathJax on a long chapter, on a busy machine
    yield driver
    driver.quit()
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / "checks.json").write_text(json.dumps(COUNTS, indent=1) + "\n")


def open_page(driver, url):
    """Load `url`, wait for MathJax, and return the console errors and requested URLs."""
    driver.get_log("browser"), driver.get_log("performance")  # forget earlier pages
    driver.get(url)
    driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "if (!document.querySelector('script[src*=mathjax]')) return done();"
        "const ready = () => window.MathJax && MathJax.startup && MathJax.startup.promise;"
        "const wait = (n) => ready() ? MathJax.startup.promise.then(() => done())"
        "  : n > 0 ? setTimeout(() => wait(n - 1), 50) : done();"
        "wait(200);")
    errors = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    return errors, requested_urls(driver)


def requested_urls(driver):
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def page_url(site_dir, name):
    return (site_dir / f"{name}.html").as_uri()


def chapter_prose(name):
    """The markdown of a chapter's notebook."""
    import nbformat
    notebook = nbformat.read(book.CHAPTERS / f"{name}.ipynb", as_version=4)
    return "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")


def chapter_text(name):
    """The prose of a chapter, lower case, to know which words it contains."""
    return chapter_prose(name).lower()


def assert_sound_page(browser, what, errors, urls, maths):
    """The open page: no console error, nothing from the network, every image loaded,
    no raw TeX left in its prose, and (if it has maths) every formula typeset.
    Returns what it counted."""
    from selenium.webdriver.common.by import By
    assert not errors, f"console errors on {what}: {errors}"
    remote = [u for u in urls if urlparse(u).scheme not in LOCAL_SCHEMES]
    assert not remote, f"{what} requested {remote}"
    broken = browser.execute_script(
        "return [...document.images].filter(i => !i.complete || i.naturalWidth === 0)"
        ".map(i => i.src)")
    assert not broken, f"images that did not load on {what}: {broken}"
    raw = browser.execute_script(
        "const a = document.querySelector('article').cloneNode(true);"
        "a.querySelectorAll('pre, code, script, style, mjx-container, .cell_output')"
        ".forEach(e => e.remove());"
        "return a.textContent;")
    leftovers = [m.group(0) for m in RAW_TEX.finditer(raw)]
    assert not leftovers, f"raw TeX on {what}: {leftovers[:5]}"
    formulas = len(browser.find_elements(By.CSS_SELECTOR, "article .math"))
    typeset = len(browser.find_elements(By.CSS_SELECTOR, "article mjx-container"))
    if maths:
        assert formulas > 0 and typeset >= formulas, f"{what}: {typeset} of {formulas} typeset"
    return dict(requests=len(urls), images=browser.execute_script("return document.images.length"),
                formulas=formulas, typeset=typeset)


@pytest.mark.parametrize("name", CHAPTERS)
def test_chapter_page(browser, site_dir, name):
    """No console error, nothing from the network, images loaded, maths typeset."""
    from selenium.webdriver.common.by import By
    errors, urls = open_page(browser, page_url(site_dir, name))
    save_screenshots(browser, name)  # before the checks: a failed page is worth a look
    title = re.search(r"^# (.+)$", chapter_prose(name), re.M).group(1).strip()
    assert title in browser.title, f"{name}'s page is titled {browser.title!r}"
    counts = assert_sound_page(browser, name, errors, urls, maths="$" in chapter_text(name))

    tab_sets = browser.find_elements(By.CSS_SELECTOR, ".sd-tab-set")
    assert tab_sets, f"{name} has no framework tabs"
    for tabs in tab_sets:
        labels = [e.get_attribute("data-sync-id")
                  for e in tabs.find_elements(By.CSS_SELECTOR, ":scope > label")]
        assert labels == list(FRAMEWORKS), f"{name}: a tab set with tabs {labels}"
    outline = browser.find_element(By.CSS_SELECTOR, ".bd-toc").get_attribute("textContent")
    assert not set(FRAMEWORKS.values()) & set(re.findall(r"\w+", outline)), \
        f"framework headings in {name}'s outline"

    links = browser.find_elements(By.CSS_SELECTOR, ".notebook-downloads a")
    targets = [Path(urlparse(a.get_attribute("href")).path) for a in links]
    assert len(targets) == 1 + len(FRAMEWORKS), f"{name}: download links {targets}"
    assert all(t.is_file() and t.suffix == ".ipynb" for t in targets), targets

    COUNTS[name] = dict(counts, tab_sets=len(tab_sets), downloads=len(targets))


def save_screenshots(driver, name):
    """The top of the page, and its first tab set."""
    from selenium.webdriver.common.by import By
    SHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SHOTS / f"{name}.png"))
    for tabs in driver.find_elements(By.CSS_SELECTOR, ".sd-tab-set")[:1]:
        driver.execute_script("arguments[0].scrollIntoView()", tabs)
        driver.save_screenshot(str(SHOTS / f"{name}-tabs.png"))
        driver.execute_script("window.scrollTo(0, 0)")


def shown_frameworks(driver):
    """The framework whose tab each tab set on the page shows."""
    return driver.execute_script(
        "return [...document.querySelectorAll('.sd-tab-set')].map(s =>"
        " s.querySelector(':scope > input:checked + label').dataset.syncId)")


def choose(driver, framework):
    from selenium.webdriver.common.by import By
    label = driver.find_element(By.CSS_SELECTOR, f".sd-tab-set > label[data-sync-id={framework}]")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", label)
    label.click()


def test_framework_choice_holds_across_pages(browser, site_dir):
    """TensorFlow chosen in chapter 3 shows on chapter 1 after a link and a reload."""
    from selenium.webdriver.common.by import By
    first, third = CHAPTERS[0], CHAPTERS[2]
    open_page(browser, page_url(site_dir, third))
    assert set(shown_frameworks(browser)) == {"pytorch"}, "PyTorch is the first choice"
    choose(browser, "tensorflow")
    assert set(shown_frameworks(browser)) == {"tensorflow"}
    browser.find_element(By.CSS_SELECTOR, f".bd-sidebar-primary a[href='{first}.html']").click()
    assert browser.current_url.endswith(f"{first}.html")
    assert set(shown_frameworks(browser)) == {"tensorflow"}
    visible = browser.find_element(
        By.CSS_SELECTOR, ".sd-tab-set > input:checked + label + .sd-tab-content")
    assert visible.is_displayed() and "tensorflow" in visible.text.lower()
    browser.refresh()
    assert set(shown_frameworks(browser)) == {"tensorflow"}
    choose(browser, "pytorch")  # as a new reader finds it, for the other tests
    COUNTS["framework choice"] = dict(pages=2, reloads=1)


def search(driver, url, word):
    """The page names that the site's search lists for `word`."""
    from selenium.webdriver.support.ui import WebDriverWait
    errors, urls = open_page(driver, f"{url}?q={word}")
    assert not errors, errors
    # Sphinx's search script writes a summary line once it has searched the index.
    WebDriverWait(driver, 10).until(lambda d: d.execute_script(
        "const s = document.querySelector('#search-results .search-summary');"
        "return s && /found|did not match/i.test(s.textContent)"))
    found = driver.execute_script(
        "return [...document.querySelectorAll('#search-results ul.search li a')]"
        ".map(a => a.getAttribute('href'))")
    return {Path(urlparse(href).path).stem for href in found}, urls


@pytest.mark.parametrize("word", ["discriminator", "wasserstein", "mutual"])
def test_search_from_file(browser, site_dir, word):
    """Searching the site from file:// lists every chapter whose prose has the word."""
    expected = {name for name in CHAPTERS if word in chapter_text(name)}
    assert expected, f"no chapter mentions {word!r}: pick another word"
    found, _ = search(browser, (site_dir / "search.html").as_uri(), word)
    assert expected <= found, f"{word!r}: found {sorted(found)}, expected {sorted(expected)}"
    COUNTS[f"search {word} (file)"] = dict(expected=len(expected), found=len(found))


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_search_from_local_server(browser, site_dir):
    """The same search over HTTP from a loopback server; every request stays on it."""
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(QuietHandler, directory=site_dir))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        expected = {name for name in CHAPTERS if "wasserstein" in chapter_text(name)}
        found, urls = search(browser, f"{base}/search.html", "wasserstein")
    finally:
        server.shutdown()
    assert expected <= found
    remote = [u for u in urls if not u.startswith(base) and urlparse(u).scheme
              not in LOCAL_SCHEMES]
    assert not remote, remote
    COUNTS["search wasserstein (http)"] = dict(expected=len(expected), found=len(found),
                                               requests=len(urls))


def test_previous_next_reach_every_chapter(browser, site_dir):
    """From the index, `next` walks through every page in order and `previous` back."""
    from selenium.webdriver.common.by import By

    def follow(selector):
        links = browser.find_elements(By.CSS_SELECTOR, selector)
        if not links:
            return None
        browser.get(links[0].get_attribute("href"))
        page = Path(urlparse(browser.current_url).path).relative_to(site_dir)
        return page.with_suffix("").as_posix()

    browser.get(page_url(site_dir, "index"))
    forward = []
    while (name := follow("a.right-next")) is not None:
        forward.append(name)
    backward = []
    while (name := follow("a.left-prev")) is not None:
        backward.append(name)
    pages = ["how_to_use", *CHAPTERS, "notes",  # the index's toctrees, in order
             *(f"solutions/{name}" for name in SOLUTIONS)]
    assert forward == pages, forward
    assert backward == ["index", *pages[:-1]][::-1], backward
    COUNTS["previous/next"] = dict(forward=len(forward), backward=len(backward))


@pytest.mark.parametrize("name", SOLUTIONS)
def test_solutions_page(browser, site_dir, name):
    """An instructors' page: one framework, no tabs, maths typeset, nothing remote,
    reachable from the index and linked from no chapter."""
    from selenium.webdriver.common.by import By
    errors, urls = open_page(browser, (site_dir / "solutions" / f"{name}.html").as_uri())
    COUNTS[f"solutions/{name}"] = assert_sound_page(browser, f"solutions/{name}", errors,
                                                    urls, maths=True)
    assert not browser.find_elements(By.CSS_SELECTOR, ".sd-tab-set, .notebook-downloads")
    index = (site_dir / "index.html").read_text()
    assert f'href="solutions/{name}.html"' in index, f"the index does not list {name}"
    for chapter in CHAPTERS:
        article = re.search(r"<article.*</article>", (site_dir / f"{chapter}.html").read_text(),
                            re.S).group(0)
        assert "solutions/" not in article, f"{chapter} links the solutions"


def test_framework_cells_outside_sections_become_tabs(tmp_path):
    """Tagged cells outside a framework section, and a missing framework, still tab.

    A made-up chapter: a section with PyTorch (with a subsection) and TensorFlow only,
    then a shared section whose framework-tagged markdown and code cells stand alone.
    """
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
    from sphinx.cmd.build import build_main

    def tagged(cell, framework):
        cell.metadata["tags"] = [framework]
        return cell

    notebook = new_notebook(cells=[
        new_markdown_cell("# A made-up chapter\n\n## PyTorch"),
        tagged(new_code_cell("torch_only = 1"), "pytorch"),
        new_markdown_cell("### Torch details\n\nDetail words."),
        new_markdown_cell("## TensorFlow"),
        tagged(new_code_cell("tf_only = 1"), "tensorflow"),
        new_markdown_cell("## Shared\n\nShared words."),
        tagged(new_markdown_cell("Words for MXNet readers."), "mxnet"),
        tagged(new_code_cell("mx_only = 1"), "mxnet"),
        tagged(new_code_cell("torch_again = 1"), "pytorch"),
        new_code_cell("shared_code = 1"),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                "language": "python"},
                 "language_info": {"name": "python"}})
    src = tmp_path / "src"
    shutil.copytree(site.SITE, src)
    (src / "_extra").mkdir()
    nbformat.write(site.wrap_tagged_markdown(notebook), src / "01_made_up.ipynb")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert build_main(["-b", "html", "-q", "-E", str(src), str(tmp_path / "out")]) == 0
    from bs4 import BeautifulSoup  # nbconvert's dependency
    page = BeautifulSoup((tmp_path / "out" / "01_made_up.html").read_text(), "html.parser")
    article = page.select_one("article")

    def tabs(tab_set):
        labels = tab_set.select(":scope > label")
        contents = tab_set.select(":scope > .sd-tab-content")
        return {label["data-sync-id"]: c.get_text() for label, c in zip(labels, contents)}

    first, second = [tabs(s) for s in article.select(".sd-tab-set")]
    assert list(first) == list(second) == list(FRAMEWORKS)
    assert "torch_only" in first["pytorch"] and "tf_only" in first["tensorflow"]
    assert "Torch details" in first["pytorch"] and "Detail words" in first["pytorch"]
    assert "no MXNet version" in first["mxnet"]
    assert "Words for MXNet readers" in second["mxnet"] and "mx_only" in second["mxnet"]
    assert "torch_again" in second["pytorch"]
    for tab_set in article.select(".sd-tab-set"):
        tab_set.decompose()
    shared = article.get_text()
    assert "Shared words" in shared and "shared_code" in shared
    outline = page.select_one(".bd-toc").get_text()
    assert "Shared" in outline and "PyTorch" not in outline and "details" not in outline
