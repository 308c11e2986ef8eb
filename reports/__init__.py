"""The report: the warehouse's views turned into one self-contained HTML page (reports/index.html).

Entry points: `reports.build.build_report(store_dir, out_path)` and `python -m reports.build`.
"""
