"""KV-cache element types as Ollama (ggml) stores them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from fractions import Fraction


@dataclass(frozen=True)
class _CacheTypeSpec:
    bytes_per_block: int
    elements_per_block: int
    needs_flash_attention: bool


class KvCacheType(str, Enum):
    """Values of OLLAMA_KV_CACHE_TYPE.

    Quantised ggml types are stored in blocks: q8_0 packs 32 int8 values plus one f16 scale
    (34 B per 32 elements), q4_0 packs 32 nibbles plus one f16 scale (18 B per 32). Ollama's
    own estimator rounds these to 1 B and 0.5 B per element; we use the real block sizes,
    which is what the allocator actually takes.
    """

    F16 = "f16"
    Q8_0 = "q8_0"
    Q4_0 = "q4_0"

    @property
    def _spec(self) -> _CacheTypeSpec:
        return _CACHE_TYPE_SPECS[self]

    @property
    def bytes_per_element(self) -> Fraction:
        spec = self._spec
        return Fraction(spec.bytes_per_block, spec.elements_per_block)

    @property
    def elements_per_block(self) -> int:
        return self._spec.elements_per_block

    @property
    def needs_flash_attention(self) -> bool:
        # Ollama silently falls back to f16 when a quantised cache is asked for without
        # flash attention, so a plan that assumes q8_0/q4_0 must also set it.
        return self._spec.needs_flash_attention


_CACHE_TYPE_SPECS: dict[KvCacheType, _CacheTypeSpec] = {
    KvCacheType.F16: _CacheTypeSpec(bytes_per_block=2, elements_per_block=1,
                                    needs_flash_attention=False),
    KvCacheType.Q8_0: _CacheTypeSpec(bytes_per_block=34, elements_per_block=32,
                                     needs_flash_attention=True),
    KvCacheType.Q4_0: _CacheTypeSpec(bytes_per_block=18, elements_per_block=32,
                                     needs_flash_attention=True),
}
