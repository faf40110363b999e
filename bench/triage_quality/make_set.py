"""Write the labelled triage set: one .eml per mail in mails/, and labels.jsonl.

The mails are written by hand in themes/*.py; this puts them in a fixed shuffled order (so
any `--limit N` prefix mixes every kind of mail) and numbers them. Deterministic: running
it again gives the same bytes.

Run: python3 bench/triage_quality/make_set.py
"""

from __future__ import annotations

import importlib
import json
import random
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from mailkit import Mail, build  # noqa: E402

THEMES = ("incidents", "money", "calendar", "newsletters", "notifications", "personal",
          "work", "phishing", "injection", "odd_formats")
SEED = 20261202


def all_mails() -> list[Mail]:
    mails: list[Mail] = []
    for theme in THEMES:
        module = importlib.import_module(f"themes.{theme}")
        mails.extend(module.MAILS)
    slugs = [m.slug for m in mails]
    duplicates = {s for s in slugs if slugs.count(s) > 1}
    if duplicates:
        raise SystemExit(f"duplicate slugs: {sorted(duplicates)}")
    random.Random(SEED).shuffle(mails)
    return mails


def main() -> None:
    out = HERE / "mails"
    if out.exists():
        shutil.rmtree(out)
    out.mkdir()
    rows = []
    for index, mail in enumerate(all_mails(), start=1):
        name = f"{index:03d}-{mail.slug}.eml"
        (out / name).write_bytes(build(mail, index))
        rows.append(mail.label(name))
    with open(HERE / "labels.jsonl", "w", encoding="utf-8") as labels:
        for row in rows:
            labels.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} mails to {out} and labels.jsonl")


if __name__ == "__main__":
    main()
