"""`python -m reports.build`: user errors as one line and exit 2; the page, its sections and snapshots."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

from reports import page as report_page
from reports.htmltools import json_text
from reports.tables import table
from tests.conftest import ROOT, CliResult, run_main


def build_subprocess(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reports.build", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def build_cli(*args: str) -> CliResult:
    """`python -m reports.build ARGS` in this process (conftest's run_main); one test runs the real command."""
    from reports.build import main
    return run_main("reports.build", main, *args)


def test_missing_store_is_one_line_and_exit_2(tmp_path):
    proc = build_subprocess("--store", str(tmp_path / "nowhere"), "--out", str(tmp_path / "index.html"))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "no store" in proc.stderr
    assert not (tmp_path / "index.html").exists()


def test_store_without_warehouse_is_one_line_and_exit_2(small_store, tmp_path):
    store = tmp_path / "store"
    shutil.copytree(small_store, store)
    (store / "warehouse.duckdb").unlink()
    proc = build_cli("--store", str(store), "--out", str(tmp_path / "index.html"))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "warehouse.duckdb" in proc.stderr


def test_page_has_every_section_and_snapshots_on_request(small_store, tmp_path):
    out = tmp_path / "site" / "index.html"
    proc = build_cli("--store", str(small_store), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    page = out.read_text(encoding="utf-8")
    sections = re.findall(r'<section id="([^"]+)"', page)
    # the study's figures, then the exact sections beyond it
    assert sections == [f"f{i}" for i in range(1, 12)] + ["knockouts", "exact-densities", "exact-means", "importance",
                                                           "interactions",
                                                           "gradient-vs-knockout", "sizes", "complements", "replication"]
    # every link of the navigation bar leads to a section
    assert re.findall(r'<nav>.*?</nav>', page, re.S) and all(
        f'id="{a}"' in page for a in re.findall(r'<a href="#([^"]+)"', re.search(r"<nav>.*?</nav>", page, re.S).group(0)))
    assert out.stat().st_size < 8_000_000
    for table_id in ("study-vs-run", "t1", "t2", "sanity", "knockout-table", "t3", "replication-table"):
        assert f'id="{table_id}"' in page
    # PNG snapshots only when asked for
    assert not list(out.parent.glob("*.png"))
    proc = build_cli("--store", str(small_store), "--out", str(out), "--snapshots")
    assert proc.returncode == 0, proc.stderr
    pngs = sorted(p.name for p in out.parent.glob("*.png"))
    assert len(pngs) == 7
    for name in pngs:
        assert (out.parent / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # no resource is loaded from anywhere: no src/href pointing off the page
    assert not re.search(r'<(script|link|img)[^>]+(src|href)="(https?:)?//', page)


def test_the_template_lists_every_section_module_once():
    names = report_page.section_names()
    modules = sorted(p.stem for p in (ROOT / "reports" / "sections").glob("*.py") if p.stem != "__init__")
    assert sorted(names) == modules and len(names) == len(set(names))
    assert names[:2] == ["header", "f1"]


def test_embedded_json_cannot_close_its_script_element():
    nasty = {"config": "</script><script>alert(1)</script>", "note": "a & b <!-- c"}
    text = json_text(nasty)
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == nasty


def test_table_cells_are_escaped():
    html = table(["a<b"], [["<img src=x onerror=alert(1)>"]])
    assert "<img" not in html and "&lt;img" in html and "a&lt;b" in html


def test_unknown_run_is_one_line_and_exit_2(small_store, tmp_path):
    proc = build_cli("--store", str(small_store), "--out", str(tmp_path / "index.html"), "--run-id", "999")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "999" in proc.stderr


def test_another_run_is_shown_on_request(small_store, tmp_path):
    out = tmp_path / "index.html"
    proc = build_cli("--store", str(small_store), "--out", str(out), "--run-id", "1")
    assert proc.returncode == 0, proc.stderr
    assert "This page shows run 1 (train seed 1)" in out.read_text(encoding="utf-8")
