"""Build the MHDQ questionnaire in every format, in English and Norwegian.

Usage: python examples/build_questionnaire.py [OUT_DIR]   (default ./example-output)

Writes, per language, the data-entry workbook (.xlsx), an XLSForm for KoboToolbox/ODK, a REDCap
data dictionary (.csv) and a printable HTML form. The same happens on the command line with
``mhdq build --out DIR``.
"""

import sys
from pathlib import Path

from instrument.forms import build_forms
from instrument.spec import load_instrument

out = Path(sys.argv[1] if len(sys.argv) > 1 else "example-output") / "forms"
out.mkdir(parents=True, exist_ok=True)

# The embedded MHDQ; pass a path to load your own specification (see own_instrument_bfi.py).
mhdq = load_instrument()
print(
    f"{mhdq.metadata.name} {mhdq.version}: {len(mhdq.item_ids)} items, "
    f"{len(mhdq.scales)} scales, languages {[lang.code for lang in mhdq.languages]}"
)

for lang in ("en", "nb"):
    # group= fills the {group} placeholder in the item text (default: Narcotics Anonymous)
    written = build_forms(
        mhdq, out, lang=lang, group="Alcoholics Anonymous" if lang == "en" else None
    )
    for fmt, path in written.items():
        print(f"  {lang} {fmt:8s} {path}")
