#!/usr/bin/env python
"""Set English translations from a JSON object of {msgid: english}: python scripts/po_set.py '{"中文": "English"}'"""
import sys, json
from babel.messages.pofile import read_po, write_po
path = "lms/translations/en/LC_MESSAGES/messages.po"
pairs = json.loads(sys.argv[1])
with open(path, "rb") as fh: cat = read_po(fh)
for k, v in pairs.items():
    m = cat.get(k)
    if m is None: cat.add(k, v)
    else: m.string = v; m.flags.discard("fuzzy")
with open(path, "wb") as fh: write_po(fh, cat, sort_output=True, omit_header=False, width=120)
