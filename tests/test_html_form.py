"""Printable HTML form: self-contained, escaped, A4 print CSS, renders to PDF in headless Chromium."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from instrument.forms.html_form import render_html_form, write_html_form


def test_structure_and_escaping(forms_spec):
    text = render_html_form(forms_spec, lang="en")
    assert text.startswith("<!DOCTYPE html>") and '<html lang="en">' in text
    assert "@page { size: A4" in text and "page-break-before: always" in text
    assert "<script" not in text and "src=" not in text and "href=" not in text  # self-contained
    assert "I trust the others &amp; say so &lt;openly&gt;." in text
    assert "<openly>" not in text
    assert text.count('class="part"') == 3  # two item sections and the background questions
    assert text.count('<span class="square"></span> 9') == 6  # every item offers N/A
    assert "Answer only if your answer to question 10 was: Yes." in text


def test_norwegian_and_group(forms_spec):
    text = render_html_form(forms_spec, lang="nb", group="AA & co")
    assert '<html lang="nb">' in text and "Jeg føler meg hjemme i AA &amp; co." in text
    assert "Helt uenig" in text and "Del 1 av 2" in text


def test_mhdq_both_languages(mhdq_spec):
    for lang in ("en", "nb"):
        text = render_html_form(mhdq_spec, lang=lang)
        assert all(f'id="{item_id}"' in text for item_id in mhdq_spec.item_ids)


def test_renders_to_pdf_in_chromium(forms_spec, tmp_out):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("headless Chromium is not installed (Debian package 'chromium')")
    html_path = write_html_form(forms_spec, tmp_out / "ftq-en.html", lang="en")
    pdf = tmp_out / "ftq-en.pdf"
    done = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            f"--user-data-dir={tmp_out / 'profile'}",
            "--no-pdf-header-footer",
            f"--print-to-pdf={pdf}",
            html_path.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert pdf.exists(), done.stderr[-2000:]
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and len(data) > 5_000
    # three sections, each starting on a new page: at least three pages
    counts = [int(n) for n in re.findall(rb"/Count (\d+)", data)]
    assert counts and max(counts) >= 3
