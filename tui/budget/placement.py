"""Which card each service runs on: the config's selectors ("", an index, a UUID) resolved
against the cards NVML lists, and the environment that pins a CUDA process to one of them."""

from __future__ import annotations

from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass
from typing import Protocol

_UUID_PREFIXES = ("GPU-", "MIG-")


class ListedCard(Protocol):
    @property
    def index(self) -> int: ...

    @property
    def uuid(self) -> str: ...


@dataclass(frozen=True)
class Placement:
    """A resolved selector: the NVML index (None when unknown), what a pinned process's
    CUDA_VISIBLE_DEVICES names ("" when the service is not pinned), and what went wrong."""

    index: int | None
    device: str
    problem: str | None = None


def is_uuid(selector: str) -> bool:
    return selector.startswith(_UUID_PREFIXES)


def cuda_pinning(device: str) -> dict[str, str]:
    """The environment that puts a CUDA process on one card: a UUID names it whatever the
    enumeration order; an index needs PCI bus order, or it follows CUDA's fastest-first
    order and may not be the card nvidia-smi and NVML call by that number."""
    if is_uuid(device):
        return {"CUDA_VISIBLE_DEVICES": device}
    return {"CUDA_DEVICE_ORDER": "PCI_BUS_ID", "CUDA_VISIBLE_DEVICES": device}


def pin_process(selector: str, environ: MutableMapping[str, str]) -> None:
    """Set up a process's environment before it initialises CUDA: bus order always (CUDA's
    device 0 is then NVML's, the panel's), and the one card `selector` names if any."""
    environ.setdefault("CUDA_DEVICE_ORDER", "PCI_BUS_ID")
    if selector.strip():
        environ.update(cuda_pinning(selector.strip()))


def resolve_card(selector: str, cards: Sequence[ListedCard] | None,
                 cuda_visible_devices: str | None = None) -> Placement:
    """Resolve a config selector against NVML's cards (None: NVML is unavailable).

    "" is the card CUDA would pick by itself: the first of CUDA_VISIBLE_DEVICES if set, else
    card 0; the process is left unpinned. An index is nvidia-smi's number; a UUID (or a
    unique prefix of one, as CUDA accepts) names the card wherever it sits.
    """
    selector = selector.strip()
    if not selector:
        inherited = (cuda_visible_devices or "").split(",")[0].strip()
        found = resolve_card(inherited or "0", cards)
        return Placement(found.index, "", found.problem)
    if selector.isdigit():
        index = int(selector)
        if cards is None:
            return Placement(index, selector)
        for card in cards:
            if card.index == index:
                return Placement(index, card.uuid or selector)
        return Placement(None, selector, f"no GPU {index} (NVML sees {len(cards)})")
    if not is_uuid(selector):
        return Placement(None, selector,
                         f"{selector!r} is neither a GPU index nor a UUID (nvidia-smi -L)")
    if cards is None:
        return Placement(None, selector)
    matches = [card for card in cards if card.uuid.startswith(selector)]
    if len(matches) == 1:
        return Placement(matches[0].index, selector)
    if matches:
        return Placement(None, selector, f"{selector} matches {len(matches)} GPUs")
    return Placement(None, selector, f"no GPU with UUID {selector}")
