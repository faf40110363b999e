"""Snapshot tests of the dashboard layout with fixed data (pytest-textual-snapshot).

Update after an intended layout change with: pytest tests/ui/test_snapshots.py --snapshot-update
(and read each new SVG before accepting it).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.services.gpu_samples import NO_GPU, RTX_3090, TWO_RTX_3090
from tests.ui.sample_dashboard import feed_sample_data, make_sample_app

# The sizes the dashboard is lived in: 80×24 (stacked, compact), 120×36 (side by side), 160×48.
SIZES = [(80, 24), (120, 36), (160, 48)]


@pytest.mark.parametrize("size", SIZES)
def test_main_screen(snap_compare: Any, size: tuple[int, int]) -> None:
    """A dozen triaged mails, a transcript whose lines wrap, healthy services."""
    assert snap_compare(make_sample_app(RTX_3090), terminal_size=size,
                        run_before=feed_sample_data)


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
def test_two_cards_each_with_its_budget(snap_compare: Any, size: tuple[int, int]) -> None:
    assert snap_compare(make_sample_app(TWO_RTX_3090, whisperx_gpu="1"), terminal_size=size,
                        run_before=feed_sample_data)


def test_gpu_panel_without_a_gpu(snap_compare: Any) -> None:
    assert snap_compare(make_sample_app(NO_GPU), terminal_size=(120, 36),
                        run_before=feed_sample_data)


def test_help_screen(snap_compare: Any) -> None:
    async def open_help(pilot: Any) -> None:
        await feed_sample_data(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(make_sample_app(RTX_3090), terminal_size=(120, 36),
                        run_before=open_help)
