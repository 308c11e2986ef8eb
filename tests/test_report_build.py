"""`python -m reports.build`: user errors as one line and exit 2; the page, its sections and snapshots."""
from __future__ import annotations

import json
import re
import subprocess
import sys

from reports.htmltools import json_text, table
from tests.conftest import ROOT


def build_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reports.build", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def test_missing_store_is_one_line_and_exit_2(tmp_path):
    proc = build_cli("--store", str(tmp_path / "nowhere"), "--out", str(tmp_path / "index.html"))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "no store" in proc.stderr
    assert not (tmp_path / "index.html").exists()


def test_store_without_warehouse_is_one_line_and_exit_2(tmp_path):
    (tmp_path / "store").mkdir()
    proc = build_cli("--store", str(tmp_path / "store"), "--out", str(tmp_path / "index.html"))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "warehouse.duckdb" in proc.stderr


def test_page_has_every_figure_and_png_snapshots(small_store, tmp_path):
    out = tmp_path / "site" / "index.html"
    proc = build_cli("--store", str(small_store), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    page = out.read_text(encoding="utf-8")
    sections = re.findall(r'<section id="([^"]+)"', page)
    # the study's figures, then the exact sections beyond it (issue 5)
    assert sections == [f"f{i}" for i in range(1, 12)] + ["knockouts", "exact-densities", "exact-means", "importance",
                                                           "gradient-vs-knockout", "sizes", "complements", "replication"]
    assert out.stat().st_size < 8_000_000
    # the study-vs-run table, T1, T2 and the sortable single-knockout table are there
    for table_id in ("study-vs-run", "t1", "t2", "sanity", "knockout-table", "t3", "replication-table"):
        assert f'id="{table_id}"' in page
    pngs = sorted(p.name for p in out.parent.glob("*.png"))
    assert len(pngs) >= 3
    for name in pngs:
        assert (out.parent / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # no resource is loaded from anywhere: no src/href pointing off the page
    assert not re.search(r'<(script|link|img)[^>]+(src|href)="(https?:)?//', page)


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
