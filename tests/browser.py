"""Render an HTML file in headless Chromium (Debian's ``chromium``) and collect console errors.

Used by the report tests: a report counts as rendered when Chromium loads it with no console
errors and every embedded figure decodes. Tests skip with a stated reason where Chromium is absent.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]

# Injected before </body>: logs every broken image and runtime error as a console error, and
# prints a summary line the test reads back from the DOM dump.
_PROBE = """<script>
window.__errors = [];
window.addEventListener('error',
  e => window.__errors.push('error: ' + (e.message || e.target.src || 'resource')), true);
function __mhdqCheck() {
  const imgs = Array.from(document.images);
  const broken = imgs.filter(i => !(i.complete && i.naturalWidth > 0)).length;
  const pre = document.createElement('pre'); pre.id = '__mhdq_probe';
  pre.textContent = 'MHDQ-PROBE images=' + imgs.length + ' broken=' + broken
    + ' errors=' + JSON.stringify(window.__errors);
  document.body.appendChild(pre);
}
window.addEventListener('load', __mhdqCheck);
</script>"""


def chromium_path() -> str | None:
    return (
        shutil.which("chromium")
        or shutil.which("chromium-browser")
        or shutil.which("google-chrome")
    )


def require_chromium() -> str:
    path = chromium_path()
    if path is None:
        pytest.skip(
            "headless Chromium is not installed (Debian package 'chromium'; .ci/run installs it)"
        )
    return path


def render_in_chromium(
    html_path: str | Path, *, screenshot: bool = True, timeout: float = 120
) -> dict:
    """Load ``html_path`` in headless Chromium and report what it saw.

    Returns
    -------
    dict
        ``images`` (number of <img> elements), ``broken`` (images that failed to decode),
        ``errors`` (JavaScript/console errors), ``screenshot`` (PNG path or None), ``stderr``
        (Chromium's own log lines that mention the page as a console error).
    """
    browser = require_chromium()
    html_path = Path(html_path).resolve()
    work = Path(tempfile.mkdtemp(prefix="mhdq-chromium-"))
    probe_page = work / html_path.name
    text = html_path.read_text(encoding="utf-8")
    probe_page.write_text(text.replace("</body>", _PROBE + "</body>", 1), encoding="utf-8")
    profile = work / "profile"
    base = [browser, *FLAGS, f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0"]
    dump = subprocess.run(
        [*base, "--virtual-time-budget=5000", "--dump-dom", probe_page.as_uri()],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    marker = [line for line in dump.stdout.splitlines() if "MHDQ-PROBE" in line]
    if not marker:
        raise AssertionError(
            f"Chromium did not render the page (exit {dump.returncode}): {dump.stderr[-2000:]}"
        )
    line = marker[-1]
    images = int(line.split("images=")[1].split()[0])
    broken = int(line.split("broken=")[1].split()[0])
    import html as _html
    import json

    errors_json = _html.unescape(line.split("errors=", 1)[1]).split("</pre>")[0]
    errors = json.loads(errors_json)
    console = [
        line
        for line in dump.stderr.splitlines()
        if "CONSOLE" in line and ("ERROR" in line or "Uncaught" in line)
    ]
    shot = None
    if screenshot:
        shot = work / "screenshot.png"
        subprocess.run(
            [*base, "--window-size=1200,2000", f"--screenshot={shot}", html_path.as_uri()],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        shot = shot if shot.exists() else None
    return {"images": images, "broken": broken, "errors": errors + console, "screenshot": shot}


def print_to_pdf(html_path: str | Path, *, timeout: float = 120) -> Path:
    """Print ``html_path`` to PDF with headless Chromium (A4, its default margins), as a reader would."""
    browser = require_chromium()
    html_path = Path(html_path).resolve()
    work = Path(tempfile.mkdtemp(prefix="mhdq-chromium-pdf-"))
    pdf = work / (html_path.stem + ".pdf")
    subprocess.run(
        [
            browser,
            *FLAGS,
            f"--user-data-dir={work / 'profile'}",
            "--no-pdf-header-footer",
            "--virtual-time-budget=5000",
            f"--print-to-pdf={pdf}",
            html_path.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if not pdf.exists():
        raise AssertionError(f"Chromium did not print {html_path} to PDF")
    return pdf


def image_pages(pdf: str | Path) -> list[list[tuple[float, float, float, float]]]:
    """Per page of ``pdf``, the bounds (left, bottom, right, top, in points) of each image drawn."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_raw

    doc = pdfium.PdfDocument(str(pdf))
    try:
        pages = []
        for page in doc:
            boxes = [
                tuple(obj.get_bounds())
                for obj in page.get_objects(filter=[pdfium_raw.FPDF_PAGEOBJ_IMAGE], max_depth=4)
            ]
            pages.append(boxes)
        return pages
    finally:
        doc.close()
