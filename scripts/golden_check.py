"""The "check" block of a golden file survives its regeneration.

A golden's top-level "check" block (concept, reference, tolerance, why,
test: see scripts/reference_table.py) is written by hand; the scripts write
the rest. Every script that writes a golden passes its document through
`keep_check` first, so rerunning it keeps the block at the top.
"""
import json
from pathlib import Path


def keep_check(path, doc):
    """`doc` with the "check" block of the file at `path` (if it has one and
    `doc` has none) as its first key."""
    path = Path(path)
    if "check" in doc or not path.exists():
        return doc
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return doc
    if not isinstance(old, dict) or "check" not in old:
        return doc
    return {"check": old["check"], **doc}
