"""Byte units used by the planner and its reports."""

from __future__ import annotations

KIB = 1024
MIB = 1024**2
GIB = 1024**3


def gib(value_bytes: float) -> float:
    return value_bytes / GIB


def gib_to_bytes(value_gib: float) -> int:
    return round(value_gib * GIB)
