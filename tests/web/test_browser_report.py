"""`workbench report` on the demo project renders in headless Chromium and prints to a clean PDF.

``WORKBENCH_SCREENSHOTS=1`` also saves ``docs/report-page1.png``: the first printed page
(A4 at 96 dpi, print styles, page margins), the way the PDF shows it.
"""

from __future__ import annotations

import os
import re
import struct
import zlib
from pathlib import Path

from workbench.cli import main

DOCS = Path(__file__).resolve().parents[2] / "docs"
A4 = {"width": 794, "height": 1123}  # 210 × 297 mm at 96 dpi


def _save_first_page(page, pdf: bytes) -> None:
    """The PDF's first page as a PNG: rasterized with pypdfium2 when it is installed,
    otherwise a screenshot of the print layout with the page margins."""
    target = DOCS / "report-page1.png"
    try:
        import pypdfium2
    except ImportError:
        page.add_style_tag(content="body.report { padding: 14mm 12mm !important; }")
        page.screenshot(path=str(target), clip={"x": 0, "y": 0, **A4})
        return
    document = pypdfium2.PdfDocument(pdf)
    try:
        bitmap = document[0].render(scale=1.5, rev_byteorder=True)
        pixels = bitmap.to_numpy()[:, :, :3].copy()
        bitmap.close()
    finally:
        document.close()
    target.write_bytes(_png(pixels))


def _png(rgb) -> bytes:
    """A minimal PNG encoder for an RGB uint8 array (height × width × 3)."""
    height, width, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(height))

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def test_report_file_prints_to_a_clean_pdf(browser, runner, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_DATABASE_URL", f"sqlite:///{tmp_path}/demo.db")
    monkeypatch.setenv("WORKBENCH_INSTANCE_PATH", str(tmp_path / "instance"))
    assert runner.invoke(main, ["demo", "--no-serve"]).exit_code == 0
    out = tmp_path / "report.html"
    result = runner.invoke(main, ["report", "Vicuna80 pairwise (demo)", "--out", str(out), "--bootstrap", "200"])
    assert result.exit_code == 0, result.output

    context = browser.new_context(viewport=A4)
    try:
        page = context.new_page()
        requests, errors = [], []
        page.on("request", lambda r: requests.append(r.url))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(out.as_uri())
        page.emulate_media(media="print")
        assert requests == [out.as_uri()]  # self-contained: nothing else is fetched
        assert errors == []
        # Every chart is drawn and nothing is wider than the page.
        assert page.locator("svg").count() >= 3
        for svg in page.locator("svg").all():
            box = svg.bounding_box()
            assert box["width"] > 200 and box["height"] > 30
        assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")

        pdf = tmp_path / "report.pdf"
        page.pdf(path=str(pdf), format="A4", print_background=True)
        data = pdf.read_bytes()
        assert data.startswith(b"%PDF-")
        pages = len(re.findall(rb"/Type\s*/Page\b", data))
        assert 1 <= pages <= 6, pages

        if os.environ.get("WORKBENCH_SCREENSHOTS") == "1":
            _save_first_page(page, data)
    finally:
        context.close()
