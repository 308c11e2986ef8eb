"""The report page of a small run in Debian's headless Chromium (Playwright): it renders every chart with
no error and no network request, and the F1 heat map and live loss follow the checkboxes — checked
against the losses the ingest stored, which the page's JavaScript computes independently."""
from __future__ import annotations

import shutil

import numpy as np
import polars as pl
import pytest

from reports.build import build_report
from tests.conftest import read_table

RUN = 0  # the report shows the store's first run by default


def run_rows(store, table: str):
    return read_table(store, table).filter(pl.col("run_id") == RUN)

from playwright import sync_api  # a hard import: a missing browser driver must fail, not skip

CHROMIUM = "/usr/bin/chromium"
# Headless and quiet: no GPU, no background traffic of the browser's own.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
RENDERED = ("window.knockoutReport && window.knockoutHeatmap && "
            "window.knockoutReport.rendered + window.knockoutReport.errors.length === window.knockoutReport.expected")


@pytest.fixture(scope="module")
def report_page(small_store, tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "index.html"
    build_report(small_store, out, write_snapshots=False)
    return out


@pytest.fixture(scope="module")
def browser():
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class LoadedPage:
    """A fresh tab on the report, with every console message, page error and off-page request recorded."""

    def __init__(self, browser, path):
        self.page_url = path.as_uri()
        self.page = browser.new_page(viewport={"width": 1200, "height": 900})
        self.console: list[tuple[str, str]] = []
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.console.append((m.type, m.text)))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.route("**/*", self._route)
        self.page.goto(path.as_uri())
        self.page.wait_for_function(RENDERED, timeout=60_000)

    def _route(self, route):
        # Only the page itself may load; anything else, on the web or on disk, is counted and refused.
        url = route.request.url
        if url.split("#")[0] == self.page_url:
            route.continue_()
        else:
            self.requests.append(url)
            route.abort()

    def close(self):
        self.page.close()


@pytest.fixture
def loaded(browser, report_page):
    tab = LoadedPage(browser, report_page)
    yield tab
    tab.close()


def live_loss(page) -> float:
    return float(page.locator("#f1-loss").inner_text())


def canvas_pixels(page) -> str:
    return page.evaluate("document.getElementById('f1-canvas').toDataURL()")


def test_every_chart_renders_without_errors_or_network(loaded, small_store):
    page = loaded.page
    state = page.evaluate("({expected: knockoutReport.expected, rendered: knockoutReport.rendered,"
                          " errors: knockoutReport.errors})")
    n_divs = page.locator("div.chart").count()
    assert state["errors"] == []
    assert state["expected"] == n_divs >= 10
    assert state["rendered"] == n_divs
    # each chart drew a canvas of real size
    sizes = page.evaluate("Array.from(document.querySelectorAll('div.chart')).map(d => {"
                          " const c = d.querySelector('canvas'); return c ? c.width * c.height : 0; })")
    assert all(s > 10_000 for s in sizes), sizes
    ids = page.evaluate("Array.from(document.querySelectorAll('[id]')).map(e => e.id)")
    assert len(ids) == len(set(ids)), "duplicate element ids"
    assert loaded.errors == []
    assert [m for m in loaded.console if m[0] in ("error", "warning")] == []
    assert loaded.requests == []


def test_live_loss_starts_at_the_stored_full_network(loaded, small_store):
    run = run_rows(small_store, "runs").row(0, named=True)
    assert live_loss(loaded.page) == pytest.approx(run["test_loss"], abs=1e-4)
    state = loaded.page.evaluate("({loss: knockoutHeatmap.loss, accuracy: knockoutHeatmap.accuracy})")
    assert state["loss"] == pytest.approx(run["test_loss"], rel=1e-5)
    assert state["accuracy"] == pytest.approx(run["test_accuracy"], abs=1e-9)


def test_heat_map_is_the_stored_grid(loaded, small_store):
    grid = run_rows(small_store, "input_grid").sort("grid_j", "grid_i")
    got = np.array(loaded.page.evaluate("knockoutHeatmap.pOutside()"))
    np.testing.assert_allclose(got, grid["p_outside"].to_numpy(), atol=1e-5)


def test_checkbox_changes_the_map_and_the_live_loss(loaded, small_store):
    page = loaded.page
    run = run_rows(small_store, "runs").row(0, named=True)
    landmarks = run_rows(small_store, "mask_landmarks")
    full = 2 ** run["hidden"] - 1
    loss_of = dict(zip(landmarks["mask"].to_list(), landmarks["loss"].to_list()))
    # the node whose removal changes the loss most, so the change is plain to see
    node = max(range(run["hidden"]), key=lambda i: abs(loss_of[full ^ (1 << i)] - loss_of[full]))
    before_pixels, before_loss = canvas_pixels(page), live_loss(page)

    assert page.locator("#f1-off").inner_text() == "none"
    page.locator(f'#f1-nodes input[data-node="{node}"]').click()
    page.wait_for_function(f"knockoutHeatmap.mask === '{full ^ (1 << node)}'")
    # the readout names the neurons switched off, not the mask's integer
    assert page.locator("#f1-off").inner_text() == str(node)
    other = (node + 1) % run["hidden"]
    page.locator(f'#f1-nodes input[data-node="{other}"]').click()
    assert page.locator("#f1-off").inner_text() == ", ".join(map(str, sorted((node, other))))
    page.locator(f'#f1-nodes input[data-node="{other}"]').click()
    page.wait_for_function(f"knockoutHeatmap.mask === '{full ^ (1 << node)}'")
    assert canvas_pixels(page) != before_pixels
    assert live_loss(page) != before_loss
    assert page.evaluate("knockoutHeatmap.loss") == pytest.approx(loss_of[full ^ (1 << node)], rel=1e-5)
    assert page.locator("#f1-on").inner_text() == f"{run['hidden'] - 1} of {run['hidden']}"

    page.locator("#f1-clear").click()
    page.wait_for_function("knockoutHeatmap.mask === '0'")
    assert page.locator("#f1-off").inner_text() == "all"
    assert page.evaluate("knockoutHeatmap.loss") == pytest.approx(loss_of[0], rel=1e-5)

    page.locator("#f1-reset").click()
    page.wait_for_function(f"knockoutHeatmap.mask === '{full}'")
    assert canvas_pixels(page) == before_pixels
    assert live_loss(page) == before_loss


def test_a_navigation_link_shows_the_heading_of_its_section(loaded):
    """The sticky navigation bar must not cover the heading of the section a link jumps to."""
    page = loaded.page
    for anchor in ("f5", "importance", "replication"):
        page.click(f"nav a[href='#{anchor}']")
        heading, nav = page.evaluate(f"[document.querySelector('#{anchor} h2').getBoundingClientRect().top,"
                                     f" document.querySelector('nav').getBoundingClientRect().bottom]")
        assert heading >= nav - 1, anchor


def test_single_knockout_table_sorts(loaded):
    page = loaded.page
    column = page.locator("#knockout-table th", has_text="loss, only this node off")
    column.click()
    cells = page.locator("#knockout-table tbody tr td:nth-child(2)").all_inner_texts()
    values = [float(c.replace("−", "-")) for c in cells]
    assert values == sorted(values)
    column.click()
    values = [float(c.replace("−", "-")) for c in page.locator("#knockout-table tbody tr td:nth-child(2)").all_inner_texts()]
    assert values == sorted(values, reverse=True)


BEYOND_CHARTS = ("exact-densities", "exact-means", "importance", "interactions", "gradient-vs-knockout", "sizes",
                 "complements")


def test_charts_beyond_the_study_render_with_their_data(loaded, small_store, warehouse):
    page = loaded.page
    assert page.evaluate("knockoutReport.errors") == []
    for anchor in BEYOND_CHARTS:
        size = page.evaluate(f"(() => {{ const c = document.querySelector('#vis-{anchor} canvas');"
                             f" return c ? c.width * c.height : 0; }})()")
        assert size > 100_000, anchor
        assert page.evaluate(f"!!knockoutReport.views['vis-{anchor}']"), anchor
    # the best-subnetwork maps drew every grid point of each size: the rendered scene holds the cells
    grid = run_rows(small_store, "input_grid")
    sizes = warehouse.execute(f"select k from map_sizes where run_id = {RUN}").fetchall()
    cells = page.evaluate("""(() => {
        const scene = knockoutReport.views['vis-sizes'].scenegraph().root;
        const counts = [];
        const visit = (item) => {
          if (item.marktype === 'rect' && item.items && item.items.length) counts.push(item.items.length);
          (item.items || []).forEach(visit);
        };
        visit(scene);
        return counts;
    })()""")
    assert sorted(c for c in cells if c == grid.height) == [grid.height] * len(sizes)
    assert [m for m in loaded.console if m[0] in ("error", "warning")] == []


MARGIN_LEFT, MARGIN_TOP, MARGIN_RIGHT = 44, 10, 10  # the F1 canvas's plot area (reports/heatmap.js)
VIRIDIS_ENDS = ((253, 231, 37), (68, 1, 84))  # viridis' last and first colours: p = 0 yellow, p = 1 navy


def map_and_bar_pixels(page, grid_size: int):
    """The F1 canvas's colours at nine points inside every grid cell (grid_j · G + grid_i order, x1
    upwards), as "r,g,b" strings, and the colour bar's colour at each of its pixels."""
    return page.evaluate(f"""(() => {{
        const c = document.getElementById('f1-canvas'), ctx = c.getContext('2d'), G = {grid_size};
        const plot = c.width - {MARGIN_LEFT} - {MARGIN_RIGHT}, cells = [];
        for (let j = 0; j < G; j++) for (let i = 0; i < G; i++) {{
          const samples = [];  // 3 × 3 points inside the cell: the dashed circle and square cross a few
          for (const fy of [0.3, 0.5, 0.7]) for (const fx of [0.3, 0.5, 0.7]) {{
            const x = Math.floor({MARGIN_LEFT} + (i + fx) / G * plot), y = Math.floor({MARGIN_TOP} + (G - 1 - j + fy) / G * plot);
            samples.push(Array.from(ctx.getImageData(x, y, 1, 1).data.slice(0, 3)).join(','));
          }}
          cells.push(samples);
        }}
        const b = document.getElementById('f1-colourbar'), bar = b.getContext('2d').getImageData(0, 7, b.width, 1).data;
        const barRgb = [];
        for (let x = 0; x < b.width; x++) barRgb.push([bar[4 * x], bar[4 * x + 1], bar[4 * x + 2]]);
        return [cells, barRgb];
    }})()""")


def test_heat_map_pixels_are_the_stored_grid_in_the_colour_bars_colours(loaded, small_store):
    """Each cell of the drawn map (not only the numbers behind it) has the colour the colour bar gives
    its stored p(outside): catches a map drawn upside down or a colour scale turned around."""
    grid = run_rows(small_store, "input_grid").sort("grid_j", "grid_i")
    size = int(grid["grid_i"].max()) + 1
    cells, bar = map_and_bar_pixels(loaded.page, size)
    assert tuple(bar[0]) == VIRIDIS_ENDS[0] and tuple(bar[-1]) == VIRIDIS_ENDS[1]
    # bar pixel x shows the colour of level round(x / (width − 1) · 255)
    by_level = {round(x / (len(bar) - 1) * 255): tuple(rgb) for x, rgb in enumerate(bar)}
    compared = 0
    for samples, p in zip(cells, grid["p_outside"].to_list()):
        level = round(p * 255)
        if level in by_level:
            # the colour most of the cell shows (a line drawn over the map covers at most a third of it)
            shown = max(set(samples), key=samples.count)
            assert shown == ",".join(map(str, by_level[level])), (p, samples, by_level[level])
            compared += 1
    assert compared >= 0.8 * len(cells)


def test_the_readout_names_the_cell_under_the_pointer(loaded, small_store):
    grid = run_rows(small_store, "input_grid")
    size = int(grid["grid_i"].max()) + 1
    p = {(r["grid_i"], r["grid_j"]): r for r in grid.iter_rows(named=True)}
    # a cell whose p(outside) differs from its mirror images, so a transposed or flipped lookup shows
    i, j = max(((i, j) for i in range(size) for j in range(size)),
               key=lambda c: min(abs(p[c]["p_outside"] - p[(c[1], c[0])]["p_outside"]),
                                 abs(p[c]["p_outside"] - p[(c[0], size - 1 - c[1])]["p_outside"])))
    page = loaded.page
    page.locator("#f1-canvas").scroll_into_view_if_needed()
    box = page.locator("#f1-canvas").bounding_box()
    width = page.evaluate("document.getElementById('f1-canvas').width")
    scale = box["width"] / width
    plot = width - MARGIN_LEFT - MARGIN_RIGHT
    x = box["x"] + scale * (MARGIN_LEFT + (i + 0.5) / size * plot)
    y = box["y"] + scale * (MARGIN_TOP + (size - 1 - j + 0.5) / size * plot)
    page.mouse.move(x, y)
    text = page.locator("#f1-readout").inner_text()
    head, value = text.split(": p(outside) = ")
    x0, x1 = (float(part.split(" = ")[1].replace("−", "-")) for part in head.split(", "))
    step = p[(1, 0)]["x0"] - p[(0, 0)]["x0"]
    assert abs(x0 - p[(i, j)]["x0"]) < step / 2 and abs(x1 - p[(i, j)]["x1"]) < step / 2
    assert float(value) == pytest.approx(p[(i, j)]["p_outside"], abs=6e-4)
