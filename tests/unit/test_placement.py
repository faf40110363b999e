"""Config selectors ("", an index, a UUID) resolved against NVML's cards, and the CUDA
environment that pins a process to one card."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tui.budget.placement import Placement, cuda_pinning, pin_process, resolve_card


@dataclass(frozen=True)
class Card:
    index: int
    uuid: str


CARDS = [Card(0, "GPU-5f1c0d2e-aaaa-0000-0000-000000000000"),
         Card(1, "GPU-9b07c3d1-bbbb-0000-0000-000000000001")]


@pytest.mark.parametrize(("selector", "expected"), [
    ("", Placement(0, "")),  # CUDA's own choice: not pinned
    ("0", Placement(0, "GPU-5f1c0d2e-aaaa-0000-0000-000000000000")),
    (" 1 ", Placement(1, "GPU-9b07c3d1-bbbb-0000-0000-000000000001")),
    ("GPU-9b07c3d1-bbbb-0000-0000-000000000001",
     Placement(1, "GPU-9b07c3d1-bbbb-0000-0000-000000000001")),
    ("GPU-9b07", Placement(1, "GPU-9b07")),  # a unique prefix, as CUDA accepts
])
def test_selectors_resolve_to_nvml_indices(selector: str, expected: Placement) -> None:
    assert resolve_card(selector, CARDS) == expected


def test_unpinned_selector_follows_cuda_visible_devices() -> None:
    assert resolve_card("", CARDS, cuda_visible_devices="1,0") == Placement(1, "")
    assert resolve_card("", CARDS, cuda_visible_devices="GPU-9b07c3d1") == Placement(1, "")


@pytest.mark.parametrize(("selector", "problem"), [
    ("2", "no GPU 2 (NVML sees 2)"),
    ("GPU-ffff", "no GPU with UUID GPU-ffff"),
    ("GPU-", "GPU- matches 2 GPUs"),
    ("cuda:1", "'cuda:1' is neither a GPU index nor a UUID (nvidia-smi -L)"),
])
def test_bad_selectors_say_why(selector: str, problem: str) -> None:
    placement = resolve_card(selector, CARDS)
    assert placement.index is None and placement.problem == problem


def test_without_nvml_an_index_is_taken_as_written() -> None:
    assert resolve_card("1", None) == Placement(1, "1")
    assert resolve_card("GPU-9b07", None) == Placement(None, "GPU-9b07")


def test_pinning_by_uuid_needs_no_order_but_an_index_needs_bus_order() -> None:
    assert cuda_pinning("GPU-9b07") == {"CUDA_VISIBLE_DEVICES": "GPU-9b07"}
    assert cuda_pinning("1") == {"CUDA_DEVICE_ORDER": "PCI_BUS_ID", "CUDA_VISIBLE_DEVICES": "1"}


def test_pin_process_keeps_a_users_device_order_and_pins_only_when_asked() -> None:
    environ: dict[str, str] = {}
    pin_process("", environ)
    assert environ == {"CUDA_DEVICE_ORDER": "PCI_BUS_ID"}
    environ = {"CUDA_VISIBLE_DEVICES": "0", "CUDA_DEVICE_ORDER": "FASTEST_FIRST"}
    pin_process("GPU-9b07", environ)
    assert environ == {"CUDA_VISIBLE_DEVICES": "GPU-9b07", "CUDA_DEVICE_ORDER": "FASTEST_FIRST"}
