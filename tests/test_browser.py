"""The course in a real browser (Playwright driving Chromium, headless): what a mentee, a mentor and a
reader of the book see, not only what the files hold.

* **JupyterLab, the mentee's path** (``make lab``): the week 1 mentee edition, released into a tmp folder,
  opened in JupyterLab with the course's kernel and progress bars on. A right ``mse`` typed into the
  exercise cell passes in one line; a typical wrong one (sum instead of mean) fails with its hint in a
  few lines and no frame of helpers' source; a training cell shows a tqdm progress widget; the last
  cell's previous/next/week links are links.
* **Formgrader, the mentor's path** (``make formgrader``): the fixture assignment (``grading_fixtures``)
  released and one student's answers submitted; formgrader lists the assignment, its Autograde button
  grades the submission in the grader's sandbox (4 / 4, in the modal and on the students page), and the
  feedback page typesets its maths with the local MathJax 3.
* **The book** (``make book``): week 1 built and served; every page loads without a console error,
  maths is typeset, every image decodes, every local link resolves.

Nothing may come from the network: every request to a host other than this machine fails the test
(and is aborted). Screenshots for a person to look at go to ``build/browser/``. Each test skips, saying
why, where Playwright (pyproject's dev extra) or Chromium (``apt-get install chromium``; .ci/run installs
it) is missing. The servers listen on 127.0.0.1 on a free port, with a token, and are always stopped.
"""
from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import nbformat
import pytest

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:                             # pyproject's dev extra; without it every test here skips
    expect = sync_playwright = None

REPO = Path(__file__).resolve().parents[1]
SHOTS = REPO / "build" / "browser"
WEEK1 = "week1"
NOTEBOOK = "01_linear_regression.ipynb"
SECONDS = 1000                                  # Playwright counts milliseconds

RIGHT_MSE = '''def mse(pred, y):
    """Mean squared error."""
    return float(np.mean((pred - y) ** 2))
'''
WRONG_MSE = RIGHT_MSE.replace("np.mean", "np.sum")    # the known mistake helpers.checks.week1 names
SUM_HINT = "MSE must average over the batch (np.mean), not sum"

# a cell that trains through the course's engine, slowly enough to see its progress bar
TRAINING_CELL = '''import time
import torch
import helpers
from helpers import train


def slow_step(model, batch):
    time.sleep(0.25)
    return {"loss": model(batch).pow(2).mean()}


torch.manual_seed(0)
history = train.fit(torch.nn.Linear(2, 1), [torch.randn(4, 2) for _ in range(24)], step=slow_step, verbose=False)
print("helpers from", helpers.__file__)
print("trained", len(history), "epoch")
'''


# --- the browser and the servers ---------------------------------------------------------------

def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    return None


@pytest.fixture(scope="module")
def browser():
    if sync_playwright is None:
        pytest.skip("Playwright for Python is not installed (pyproject's dev extra: `make setup` installs it)")
    executable = _chromium()
    if executable is None:
        pytest.skip("no Chromium on this machine: `apt-get install chromium` (.ci/run installs it)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}


@contextlib.contextmanager
def offline_context(browser, **options):
    """A browser context that aborts, and records, every request leaving this machine; yields the list."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, **options)
    remote = []

    def guard(route):
        url = urllib.parse.urlsplit(route.request.url)
        if url.scheme in ("http", "https", "ws", "wss") and url.hostname not in LOCAL_HOSTS:
            remote.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    context.route("**/*", guard)
    try:
        yield context, remote
    finally:
        context.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, timeout: float = 2) -> int:
    """HTTP status of ``url``, never through a proxy (the servers are on this machine)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code


@contextlib.contextmanager
def serving(cmd: list[str], ready: str, *, cwd: Path, env: dict, log: Path, timeout: float = 90):
    """Run a server (a session of its own, so its kernels go with it) until ``ready`` answers 200; stop it after."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{' '.join(cmd[:2])} exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            try:
                if _get(ready) == 200:
                    break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{ready} did not answer in {timeout:g} s:\n{log.read_text()[-3000:]}")
            time.sleep(0.25)
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def _jupyter_lab(port: int, token: str, root: Path, *options: str) -> list[str]:
    """``jupyter lab`` on 127.0.0.1:port with a token, serving ``root``, no browser, no update check."""
    for jupyter in (REPO / ".venv" / "bin" / "jupyter", Path(sys.prefix) / "bin" / "jupyter"):
        if jupyter.exists():
            break
    else:
        pytest.skip("no jupyter next to this Python or in .venv")
    return [str(jupyter), "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}", "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            *(["--allow-root"] if os.geteuid() == 0 else []), *options]   # CI runs as root


def _server_env(tmp: Path, **extra) -> dict:
    """The environment a server gets: this one (the reproducible mode included), its own Jupyter state in tmp."""
    env = {k: v for k, v in os.environ.items() if k != "CI"}      # CI=... silences progress bars like DIC_QUIET
    env.update(JUPYTER_RUNTIME_DIR=str(tmp / "runtime"), JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"),
               JUPYTERLAB_SETTINGS_DIR=str(tmp / "settings"), **extra)
    return env


def _lab_settings(folder: Path) -> None:
    """Every cell in the page (no windowing, so locators see the whole notebook), no news pop-up."""
    settings = {"@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
                "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
                    {"fetchNews": "false", "checkForUpdates": False}}
    for name, value in settings.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(json.dumps(value))


def _shot(page, name: str, **options) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), **options)
    return path


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    run = subprocess.run(cmd, capture_output=True, text=True, **kw)
    assert run.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{run.stdout[-2000:]}\n{run.stderr[-3000:]}"
    return run


# --- JupyterLab: the mentee's path ---------------------------------------------------------------

KERNEL_IDLE = ("() => [...document.querySelectorAll('.jp-StatusBar-TextItem')]"
               ".some(item => / \\| Idle$/.test(item.innerText) && !item.innerText.startsWith('No Kernel'))")


def _open_notebook(page, url: str, cells: int) -> None:
    """Open a notebook and wait for all its cells and a connected, idle kernel (the toolbar's indicator says
    idle before any kernel exists, and a cell run before the kernel's websocket is up is silently not run)."""
    page.goto(url)
    page.wait_for_function("n => document.querySelectorAll('.jp-Notebook .jp-Cell').length === n", arg=cells,
                           timeout=60 * SECONDS)
    page.wait_for_function(KERNEL_IDLE, timeout=60 * SECONDS)


def _cell(page, text: str):
    """The notebook cell whose source contains ``text``, and its index."""
    cells = page.locator(".jp-Notebook .jp-Cell")
    index = cells.evaluate_all("(cells, text) => cells.findIndex(c => "
                               "(c.querySelector('.cm-content')?.innerText ?? '').includes(text))", text)
    assert index >= 0, f"no cell holds {text!r}"
    return index, cells.nth(index)


def _type_source(page, cell, source: str) -> None:
    """Replace ``cell``'s source by ``source`` as a mentee pastes it (no auto-indent, no brackets added)."""
    cell.locator(".cm-content").click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(source)
    expect(cell.locator(".cm-content")).to_contain_text(source.strip().splitlines()[-1].strip())


def _run_cells(page, first, count: int) -> None:
    """Select ``first`` and press Shift+Enter ``count`` times, as a mentee runs cell after cell."""
    first.locator(".jp-InputPrompt").click()
    for _ in range(count):
        page.keyboard.press("Shift+Enter")


def test_jupyterlab_mentee_edition(browser, tmp_path):
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    _run([sys.executable, "-m", "helpers.grading", "--root", str(tmp_path / "grading"), "release", "--week", WEEK1],
         cwd=REPO, env=env)
    mentee = tmp_path / "mentee"                                   # make lab: the bundle, copied
    shutil.copytree(tmp_path / "grading" / "bundle", mentee)
    n_cells = len(nbformat.read(mentee / WEEK1 / NOTEBOOK, as_version=4).cells)
    _lab_settings(tmp_path / "settings")
    port, token = _free_port(), secrets.token_hex(16)
    env = _server_env(tmp_path, DIC_QUIET="", PYTHONPATH=str(mentee),
                      DIC_DATA=os.environ.get("DIC_DATA") or str((REPO / "data").resolve()))
    base = f"http://127.0.0.1:{port}"
    with serving(_jupyter_lab(port, token, mentee), f"{base}/api/status?token={token}", cwd=mentee, env=env,
                 log=tmp_path / "lab.log"), offline_context(browser) as (context, remote):
        page = context.new_page()
        _open_notebook(page, f"{base}/lab/tree/{WEEK1}/{NOTEBOOK}?token={token}", n_cells)
        kernel = page.locator(".jp-StatusBar-TextItem", has_text="| Idle").first.inner_text()
        assert "Deep into CNNs" in kernel, f"not the course's kernel: {kernel!r}"

        # the exercise, answered right: every cell up to its test cell, one line says it passed
        index, solution = _cell(page, "def mse(pred, y)")
        assert "raise NotImplementedError()" in solution.locator(".cm-content").inner_text(), "not the released stub"
        _type_source(page, solution, RIGHT_MSE)
        test_index, test_cell = _cell(page, "checks.check_mse(mse)")
        assert test_index == index + 1, "the test cell follows the exercise"
        _run_cells(page, page.locator(".jp-Notebook .jp-Cell").first, test_index + 1)
        output = test_cell.locator(".jp-OutputArea")
        output.get_by_text("✓ mse — passed").wait_for(timeout=90 * SECONDS)
        assert output.inner_text().strip() == "✓ mse — passed"
        solution.scroll_into_view_if_needed()
        _shot(page, "lab_mse_passed")

        # the known mistake: the hint, a few lines, no frame of helpers' source
        _type_source(page, solution, WRONG_MSE)
        _run_cells(page, solution, 2)
        output.get_by_text(SUM_HINT).wait_for(timeout=30 * SECONDS)
        text = output.inner_text().strip()
        lines = text.splitlines()
        assert len(lines) <= 12, f"the failed check takes {len(lines)} lines:\n{text}"
        assert "helpers/" not in text and "site-packages" not in text, f"a frame of helpers' source:\n{text}"
        assert "✓" not in text and "Traceback" not in text
        solution.scroll_into_view_if_needed()
        _shot(page, "lab_mse_failed")

        # the last cell: previous notebook, the week's index, next notebook, as links
        cells = page.locator(".jp-Notebook .jp-Cell")
        last = cells.last
        links = last.locator(".jp-RenderedMarkdown a")
        hrefs = [urllib.parse.urlsplit(links.nth(i).get_attribute("href") or "").path for i in range(links.count())]
        for target in ("00_getting_started.ipynb", "README.md", "02_data_handling.ipynb"):
            assert f"{WEEK1}/{target}" in " ".join(hrefs), f"no link to {target} in the last cell: {hrefs}"

        # a training cell at the end: the course's engine shows a progress widget while it runs
        last.locator(".jp-InputPrompt").click()                      # select (a click on the text follows a link)
        page.keyboard.press("Escape")
        page.keyboard.press("b")                                    # a new code cell below, edited
        page.keyboard.press("Enter")
        training = cells.nth(n_cells)
        page.keyboard.insert_text(TRAINING_CELL)
        expect(training.locator(".cm-content")).to_contain_text("trained")
        page.keyboard.press("Shift+Enter")
        widget = training.locator(".jp-OutputArea .widget-hbox", has=page.locator(".widget-hprogress .progress-bar"))
        expect(widget.first).to_contain_text(re.compile(r"\b([1-9]|1\d|2[0-3])/24\b"), timeout=30 * SECONDS)  # moving
        assert re.search(r"epoch\s1:", widget.first.inner_text()), widget.first.inner_text()
        training.scroll_into_view_if_needed()
        _shot(page, "lab_progress_bar")
        training.get_by_text("trained 1 epoch").wait_for(timeout=60 * SECONDS)
        text = training.locator(".jp-OutputArea").inner_text()
        assert f"helpers from {mentee}/helpers/__init__.py" in text, f"not the mentee edition's helpers:\n{text}"
        assert "Error displaying widget" not in text and "HBox(" not in text
        assert not remote, f"requests left this machine: {remote}"


# --- formgrader and feedback: the mentor's path ------------------------------------------------

MATHS = r"$$\mathrm{mse}(p, y) = \frac{1}{n}\sum_i (p_i - y_i)^2$$"


def _submitted_course(base: Path):
    """The fixture assignment released, with maths in its first notebook, and ann's right answers submitted
    (where nbgrader's collect puts them: ``submitted/ann/<week>``), not yet graded."""
    from grading_fixtures.assignment import WEEK, write_week
    from grading_fixtures.tamper import CORRECT, answered
    from helpers.grading import feedback
    from helpers.grading.course import Course, release
    from helpers.grading.sandbox import SandboxUnavailable, plan

    try:
        feedback.provision_mathjax()
    except feedback.MathJaxUnavailable as err:
        pytest.skip(f"MathJax cannot be provisioned here ({err}): feedback would load it from a CDN")
    course = Course(root=base / "grading", weeks_root=base / "weeks")
    try:
        plan(course, base, [], True, lambda *a: None)
    except SandboxUnavailable as err:
        pytest.skip(f"grading needs its sandbox: {err}")
    folder = write_week(course.weeks_root)
    first = nbformat.read(folder / "01_arrays.ipynb", as_version=4)
    first.cells[0].source += "\n\nThe loss, in symbols:\n\n" + MATHS + "\n\nand inline, $n$ entries."
    nbformat.write(first, folder / "01_arrays.ipynb")
    release(course, [WEEK], log=lambda *a: None)
    released = {p.name: nbformat.read(p, as_version=4) for p in sorted(course.release(WEEK).glob("*.ipynb"))}
    submitted = course.course / "submitted" / "ann" / WEEK
    submitted.mkdir(parents=True)
    for name, nb in answered(released, CORRECT).items():
        nbformat.write(nb, submitted / name)
    return course, WEEK


def test_formgrader_autograde_button_grades_in_the_sandbox_and_feedback_typesets_offline(browser, tmp_path):
    course, week = _submitted_course(tmp_path)
    # formgrader reads nbgrader_config.py from where the server starts: the repository's, pointed at this course
    (tmp_path / "nbgrader_config.py").write_text(
        f"c = get_config()  # noqa: F821\nload_subconfig({str(REPO / 'nbgrader_config.py')!r})  # noqa: F821\n"
        f"c.CourseDirectory.root = {str(course.course)!r}\n"
        f"c.CourseDirectory.db_url = {course.db_url!r}\n")
    port, token = _free_port(), secrets.token_hex(16)
    cmd = _jupyter_lab(port, token, tmp_path, "--LabApp.default_url=/formgrader")
    base = f"http://127.0.0.1:{port}"
    with serving(cmd, f"{base}/api/status?token={token}", cwd=tmp_path, env=_server_env(tmp_path),
                 log=tmp_path / "formgrader.log"), offline_context(browser) as (context, remote):
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda err: errors.append(str(err)))
        page.goto(f"{base}/?token={token}")                          # make formgrader's default URL
        assert "/formgrader" in page.url
        row = page.locator("table.dataTable tbody tr", has_text=week)
        row.first.wait_for(timeout=30 * SECONDS)
        assert row.count() == 1 and re.search(rf"^{week}\s", row.inner_text()), row.all_inner_texts()
        _shot(page, "formgrader_assignments")
        page.goto(f"{base}/formgrader/manage_submissions/{week}")
        student = page.locator("table.dataTable tbody tr", has_text="ann")
        student.first.wait_for(timeout=30 * SECONDS)
        assert "needs autograding" in student.first.inner_text(), student.first.inner_text()
        student.first.locator("td.autograde a").click()               # the button: the grader's sandbox
        modal = page.locator("#success-modal, #error-modal")
        modal.first.wait_for(timeout=180 * SECONDS)
        text = modal.first.inner_text()
        _shot(page, "formgrader_autograded")
        assert page.locator("#success-modal").count() == 1, f"autograde failed: {text[-1500:]}"
        assert "grader's sandbox" in text and "4 / 4" in text.replace("4.0", "4"), text[-1500:]
        page.goto(f"{base}/formgrader/manage_students")
        student = page.locator("table.dataTable tbody tr", has_text="ann")
        student.first.wait_for(timeout=30 * SECONDS)
        score = student.first.inner_text()
        assert "4 / 4" in score, f"ann answered everything (4 points): {score!r}"
        _shot(page, "formgrader_students")
        assert not errors, f"formgrader's scripts failed: {errors}"
        assert not remote, f"formgrader requested from the network: {remote}"

    feedback = course.course / "feedback" / "ann" / week / "01_arrays.html"
    assert feedback.is_file(), f"no feedback page at {feedback}"
    with offline_context(browser) as (context, remote):
        page = context.new_page()
        page.goto(feedback.as_uri())
        page.wait_for_selector("mjx-container svg", timeout=30 * SECONDS)
        page.wait_for_function("() => window.MathJax?.startup?.promise", timeout=10 * SECONDS)
        page.evaluate("() => MathJax.startup.promise")
        typeset = page.locator("mjx-container").count()
        assert typeset >= 2, f"{typeset} formulas typeset, expected the display formula and the inline one"
        body = page.locator("body").inner_text()
        assert "$$" not in body and r"\frac" not in body and "$n$" not in body, "raw TeX left on the page"
        page.locator("mjx-container").first.scroll_into_view_if_needed()
        _shot(page, "feedback_maths")
        assert not remote, f"the feedback page requested from the network: {remote}"


# --- the book ----------------------------------------------------------------------------------

def test_book_pages_load_offline_with_maths_images_and_links(browser, tmp_path):
    if not (importlib.util.find_spec("sphinx") and importlib.util.find_spec("myst_nb")):
        pytest.skip("the book's packages (sphinx, myst-nb: pyproject's dev extra) are not installed")
    from helpers import vendor

    try:
        vendor.provision_mathjax()
    except vendor.MathJaxUnavailable as err:
        pytest.skip(f"MathJax for the book cannot be provisioned here: {err}")
    root = tmp_path / "book"
    _run([sys.executable, "-m", "helpers.book", "--week", WEEK1, "--root", str(root)], cwd=REPO)
    html = root / "html"
    pages = sorted(p.relative_to(html).as_posix() for p in html.rglob("*.html"))
    assert f"{WEEK1}/01_linear_regression.html" in pages and "index.html" in pages
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    with serving([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(html)],
                 f"{base}/index.html", cwd=tmp_path, env=dict(os.environ), log=tmp_path / "http.log"), \
            offline_context(browser) as (context, remote):
        page = context.new_page()
        console = []
        page.on("console", lambda msg: console.append(f"{page.url}: {msg.text}") if msg.type == "error" else None)
        page.on("pageerror", lambda err: console.append(f"{page.url}: {err}"))
        links, broken_images, maths, images, typeset = set(), {}, {}, 0, {}
        for name in pages:
            response = page.goto(f"{base}/{name}")
            assert response.status == 200, f"{name}: HTTP {response.status}"
            page.wait_for_load_state("load")
            broken = page.evaluate("""() => Promise.all([...document.images].map(img => {
                    img.loading = 'eager';
                    return img.decode().then(() => img.naturalWidth > 0 ? null : img.src, () => img.src);
                })).then(found => found.filter(Boolean))""")
            if broken:
                broken_images[name] = broken
            images += page.locator("img").count()
            if page.locator("div.math, span.math").count():
                page.wait_for_function("() => window.MathJax?.startup?.promise", timeout=10 * SECONDS)
                page.evaluate("() => MathJax.startup.promise")
                maths[name] = page.evaluate("""() => [...document.querySelectorAll('div.math, span.math')]
                    .filter(el => !el.querySelector('mjx-container')).map(el => el.textContent.slice(0, 60))""")
                typeset[name] = page.locator("mjx-container").count()
            hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
            missing_anchors = page.evaluate("""() => [...document.querySelectorAll('a[href^="#"]')]
                .map(a => decodeURIComponent(a.getAttribute('href').slice(1)))
                .filter(id => id && !document.getElementById(id))""")
            assert not missing_anchors, f"{name}: links to anchors that are not on the page: {missing_anchors}"
            links.update(urllib.parse.urldefrag(h).url for h in hrefs if h.startswith(base))
            if name == f"{WEEK1}/01_linear_regression.html":
                page.locator("mjx-container").first.scroll_into_view_if_needed()
                _shot(page, "book_linear_regression")
        assert not console, f"console errors: {console}"
        assert images and not broken_images, f"images that do not decode: {broken_images} ({images} images)"
        assert maths, "no page with maths: the check would pass without MathJax"
        untypeset = {name: left for name, left in maths.items() if left}
        assert not untypeset, f"formulas MathJax did not typeset: {untypeset}"
        assert typeset.get(f"{WEEK1}/01_linear_regression.html", 0) > 10, typeset
        dead = {url: status for url in sorted(links) if (status := context.request.get(url).status) != 200}
        assert not dead, f"local links that do not resolve: {dead}"
        assert not remote, f"the book requested from the network: {remote}"
