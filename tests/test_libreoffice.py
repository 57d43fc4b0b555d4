"""The questionnaire workbook opens in LibreOffice: PDF and CSV export, typed answers, validations kept."""

from __future__ import annotations

import csv
import datetime as dt
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest
from openpyxl.utils import get_column_letter

from instrument.forms.workbook import write_workbook

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
pytestmark = pytest.mark.skipif(
    SOFFICE is None,
    reason="LibreOffice (soffice) is not installed; Debian package 'libreoffice-calc'",
)
#: CSV filter options: comma, double quote, UTF-8, from row 1, ..., -1 = every sheet to its own
#: file.
ALL_SHEETS_CSV = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1"


def soffice(target: str, source: Path, outdir: Path) -> subprocess.CompletedProcess:
    profile = outdir.parent / f"lo-profile-{outdir.name}"
    return subprocess.run(
        [
            SOFFICE,
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--norestore",
            "--convert-to",
            target,
            "--outdir",
            str(outdir),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.fixture
def filled_workbook(forms_spec, tmp_out) -> Path:
    path = write_workbook(forms_spec, tmp_out / "ftq-en.xlsx", lang="en")
    wb = openpyxl.load_workbook(path)
    ws = wb["Data entry"]
    ws.append(
        [
            "r001",
            1,
            5,
            3,
            9,
            2,
            4,
            2,
            34,
            1,
            0,
            1,
            1,
            dt.date(2019, 4, 2),
            "2021-03",
            "Fine, thanks",
        ]
    )
    wb.save(path)
    return path


def test_pdf_export(filled_workbook, tmp_path):
    out = tmp_path / "pdf"
    done = soffice("pdf", filled_workbook, out)
    pdf = out / "ftq-en.pdf"
    assert pdf.exists(), done.stderr
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 5_000


def test_csv_export_of_every_sheet(filled_workbook, tmp_path):
    out = tmp_path / "csv"
    done = soffice(ALL_SHEETS_CSV, filled_workbook, out)
    about = out / "ftq-en-About.csv"
    assert about.exists(), done.stderr
    first = list(csv.reader(about.open(encoding="utf-8")))
    assert first[0][0] == "Forms Test Questionnaire"
    assert ["Version", "0.3"] in first
    data = list(csv.reader((out / "ftq-en-Data entry.csv").open(encoding="utf-8")))
    assert data[0][:3] == ["respondent_id", "fit1", "fit2"]
    assert data[1] == [
        "r001",
        "1",
        "5",
        "3",
        "9",
        "2",
        "4",
        "2",
        "34",
        "1",
        "0",
        "1",
        "1",
        "2019-04-02",
        "2021-03",
        "Fine, thanks",
    ]
    questionnaire = (out / "ftq-en-Questionnaire.csv").read_text(encoding="utf-8")
    assert "I feel at home in the group." in questionnaire and "9 = Not applicable" in questionnaire


def test_first_sheet_csv(filled_workbook, tmp_path):
    out = tmp_path / "csv1"
    done = soffice("csv", filled_workbook, out)
    text = (out / "ftq-en.csv").read_text(encoding="utf-8")
    assert text.startswith("Forms Test Questionnaire"), done.stderr


def test_validations_survive_a_libreoffice_round_trip(filled_workbook, tmp_path):
    """LibreOffice understands the validations: re-saved as .xlsx, they are still there and blocking."""
    out = tmp_path / "xlsx"
    done = soffice("xlsx:Calc MS Excel 2007 XML", filled_workbook, out)
    resaved = out / "ftq-en.xlsx"
    assert resaved.exists(), done.stderr
    ws = openpyxl.load_workbook(resaved)["Data entry"]
    kinds = {}  # column letter -> (type, error style, shows error)
    for dv in ws.data_validations.dataValidation:
        for cell_range in dv.sqref.ranges:  # LibreOffice merges neighbouring columns into one range
            # LibreOffice 7.4's .xlsx export writes at most the first 1000 rows of a rule (in
            # LibreOffice itself the rule covers all 5000 rows: see the .ods test below)
            assert cell_range.min_row == 2 and cell_range.max_row >= 1001
            for col in range(cell_range.min_col, cell_range.max_col + 1):
                kinds[get_column_letter(col)] = (
                    dv.type,
                    dv.errorStyle or "stop",
                    dv.showErrorMessage,
                )
    assert kinds["B"][0] == "list" and kinds["I"][0] == "whole" and kinds["N"][0] == "date"
    assert kinds["O"][0] == "custom" and kinds["P"][0] == "textLength"
    assert all(kind[1] == "stop" and kind[2] for kind in kinds.values())
    assert set(kinds) == set("ABCDEFGHIJKLMNOP")  # every column kept its rule


def test_validations_cover_every_prepared_row_in_libreoffice(filled_workbook, tmp_path):
    """Opened in LibreOffice, all 5000 prepared rows carry a validation (checked in the .ods it saves)."""
    import re
    import zipfile

    out = tmp_path / "ods"
    done = soffice("ods", filled_workbook, out)
    ods = out / "ftq-en.ods"
    assert ods.exists(), done.stderr
    content = zipfile.ZipFile(ods).read("content.xml").decode("utf-8")
    sheet = content[content.index('table:name="Data entry"') :]
    sheet = sheet[: sheet.index("</table:table>")]
    rows = re.findall(r"<table:table-row\b[^>]*>(.*?)</table:table-row>", sheet, flags=re.S)
    repeats = re.findall(r"<table:table-row\b([^>]*)>", sheet)
    # row 1 header, row 2 the typed answers, then 4999 repeated empty rows, each cell validated
    assert 'number-rows-repeated="4999"' in repeats[2]
    validated = re.findall(r"table:content-validation-name", rows[2])
    assert len(validated) >= 9  # one run of cells per rule
    assert "content-validation-name" in rows[1]
