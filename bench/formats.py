"""How fast documents of each format are read, and how much memory a long PDF takes.

    .venv/bin/python bench/formats.py [--pages 500] [--ocr-pages 3]

Makes the test documents (tests/docgen.py: a text PDF of N pages, the shortest seed report as a scanned
PDF, a DOCX, a web page, an XLSX table, an OFD), then reads each in a fresh process with ``qa.loaders.load``
and prints wall time, CPU time (user + system, less sensitive to a busy machine), pages per second and the
process's peak resident memory, as a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

CHILD = """
import json, resource, sys, time
from pathlib import Path
from qa.loaders import load
path = Path(sys.argv[1])
data = path.read_bytes()
wall, cpu = time.perf_counter(), time.process_time()
loaded = load(data, path.name)
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"wall": wall, "cpu": cpu, "pages": len(loaded.pages), "chars": len(loaded.text),
                  "ocr": sum(p.ocr for p in loaded.pages), "rss_mb": usage.ru_maxrss / 1024}))
"""


def measure(path: Path) -> dict[str, float]:
    """Read one file in a fresh interpreter; its time, pages and peak memory."""
    out = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, check=True)
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    """Make the documents, read each, print the table."""
    import docgen

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=500, help="pages of the long text PDF")
    args = parser.parse_args()
    report = (ROOT / "corpus" / "003_c74baaf9e274de20.txt").read_text(encoding="utf-8")
    title = "重庆市九龙坡区：在奋力谱写中国式现代化重庆篇章中勇挑重担、走在前列"
    table = ("表1 2023年九龙坡区主要经济指标", "单位：亿元",
             [["指标", "2022年", "2023年", "增速（%）"], ["地区生产总值", "1582.6", "1701.3", "6.1"]])
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        pdf = docgen.text_pdf(report, folder / "report.pdf", folder, title=title)
        cases = {
            f"text PDF, {args.pages} pages": docgen.long_pdf(folder / "long.pdf", folder, args.pages, report[:3000]),
            "text PDF, the report (3 pages)": pdf,
            "scanned PDF, the report at 100 dpi (OCR)": docgen.scanned_pdf(pdf, folder / "scan.pdf", dpi=100),
            "PDF without Unicode maps (OCR)": docgen.strip_unicode_maps(pdf, folder / "unmapped.pdf"),
            "DOCX (公文 layout, one table)": docgen.gov_docx(report, folder / "report.docx", title=title, table=table),
            "OFD": docgen.ofd(report, folder / "report.ofd", title=title),
        }
        page = docgen.gov_html(report, title=title, publisher="九龙坡区人民政府办公室", written="2024-06-28",
                               published="2024-07-01", index_no="x", doc_no="y", table=table)
        (folder / "report.html").write_text(page, encoding="utf-8")
        cases["web page (HTML)"] = folder / "report.html"
        rows = ["| document | pages | wall s | CPU s | pages/s (wall) | CPU s per page | peak memory |",
                "|---|---:|---:|---:|---:|---:|---:|"]
        for name, path in cases.items():
            m = measure(path)
            pages = m["pages"] or 1
            rows.append(f"| {name} | {m['pages'] or '–'} | {m['wall']:.2f} | {m['cpu']:.2f} | "
                        f"{pages / m['wall']:.1f} | {m['cpu'] / pages:.3f} | {m['rss_mb']:.0f} MB |")
            print(rows[-1], flush=True)
    print("\n".join(rows))


if __name__ == "__main__":
    main()
