"""English is available: every message id in the code and templates has an English translation."""
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from lms.features import FEATURES

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}
METHODS = [("**/templates/**.html", "jinja2"), ("**.py", "python")]


def _ids():
    ids = set()
    for sub in ("lms", *FEATURES):
        if not (ROOT / sub).exists():
            continue
        for _fn, _ln, msg, _c, _ctx in extract_from_dir(str(ROOT / sub), METHODS, keywords=KEYWORDS):
            ids.add(msg if isinstance(msg, str) else msg[0])
    return ids


def test_english_catalog_covers_every_message():
    with open(ROOT / "lms/translations/en/LC_MESSAGES/messages.po", "rb") as fh:
        catalog = read_po(fh)
    missing = sorted(m for m in _ids() if m and (catalog.get(m) is None or not catalog.get(m).string or catalog.get(m).fuzzy))
    assert not missing, f"{len(missing)} messages lack English (run `make messages` and translate):\n" + "\n".join(missing[:40])
