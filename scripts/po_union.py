#!/usr/bin/env python
"""Merge English catalogs from several git revisions (union of translated entries), for merge conflicts:
python scripts/po_union.py HEAD MERGE_HEAD"""
import io
import subprocess
import sys

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

PATH = "lms/translations/en/LC_MESSAGES/messages.po"
merged: Catalog | None = None
for rev in sys.argv[1:]:
    data = subprocess.run(["git", "show", f"{rev}:{PATH}"], capture_output=True, check=True).stdout
    cat = read_po(io.BytesIO(data))
    if merged is None:
        merged = cat
        continue
    for msg in cat:
        if not msg.id or not msg.string:
            continue
        mine = merged.get(msg.id)
        if mine is None:
            merged.add(msg.id, msg.string)
        elif not mine.string:
            mine.string = msg.string
with open(PATH, "wb") as fh:
    write_po(fh, merged, sort_output=True, width=120)
