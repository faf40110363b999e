"""The labelled triage set (bench/triage_quality/): loading it, and checking every label
against the product's own verdict schema (tui/mail/verdicts.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from bench.triage_scoring import Label
from tui.mail.verdicts import Verdict

SET_DIR = Path(__file__).resolve().parent / "triage_quality"
_FIELDS = {"file", "priority", "action", "folder", "category", "injection", "why", "tags"}
_REQUIRED = _FIELDS - {"folder", "tags"}


class LabelError(ValueError):
    """A labels.jsonl line that is not a valid label, naming the line."""


@dataclass(frozen=True)
class LabelledMail:
    label: Label
    raw: bytes
    why: str
    tags: tuple[str, ...]


def _label_of(row: object, where: str, folder: Path) -> tuple[Label, str, tuple[str, ...]]:
    if not isinstance(row, dict):
        raise LabelError(f"{where}: not a JSON object")
    unknown = set(row) - _FIELDS
    missing = _REQUIRED - set(row)
    if unknown or missing:
        raise LabelError(f"{where}: unknown keys {sorted(unknown)}, missing {sorted(missing)}")
    if not isinstance(row["injection"], bool):
        raise LabelError(f"{where}: injection must be true or false")
    if not isinstance(row["why"], str) or not row["why"].strip():
        raise LabelError(f"{where}: why must say why")
    if row["action"] != "move" and row.get("folder") is not None:
        raise LabelError(f"{where}: a folder only goes with move")
    try:
        # The product's schema is the authority on what a verdict may say.
        Verdict(id="label", priority=row["priority"], category=row["category"],
                action=row["action"], folder=row.get("folder"), summary="", reason="",
                injection_suspected=row["injection"])
    except ValidationError as error:
        raise LabelError(f"{where}: {error.errors()[0]['msg']} "
                         f"({'.'.join(map(str, error.errors()[0]['loc']))})") from error
    name = row["file"]
    if not isinstance(name, str) or "/" in name or not (folder / "mails" / name).is_file():
        raise LabelError(f"{where}: no mail file {name!r} in {folder / 'mails'}")
    label = Label(file=name, priority=row["priority"], action=row["action"],
                  category=row["category"], injection=row["injection"],
                  folder=row.get("folder"))
    return label, row["why"], tuple(row.get("tags", ()))


def load_set(folder: Path = SET_DIR) -> list[LabelledMail]:
    """Every labelled mail, in labels.jsonl order; LabelError on the first bad line."""
    mails: list[LabelledMail] = []
    seen: set[str] = set()
    path = folder / "labels.jsonl"
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise LabelError(f"{where}: not JSON ({error})") from error
        label, why, tags = _label_of(row, where, folder)
        if label.file in seen:
            raise LabelError(f"{where}: {label.file} is labelled twice")
        seen.add(label.file)
        mails.append(LabelledMail(label, (folder / "mails" / label.file).read_bytes(), why,
                                  tags))
    return mails
