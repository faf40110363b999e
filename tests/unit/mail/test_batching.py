from __future__ import annotations

import pytest

from tui.mail.batching import ItemTooLarge, TokenCalibration, plan_batches, split_batch


def _sizes(batches: list[list[int]]) -> list[int]:
    return [len(b) for b in batches]


def _plan(items: list[int], **kwargs: object) -> list[list[int]]:
    options: dict[str, object] = {
        "num_ctx": 8192,
        "fixed_tokens": 400,
        "generation_reserve": 2048,
    }
    options.update(kwargs)
    return plan_batches(items, lambda tokens: tokens, **options)  # type: ignore[arg-type]


def test_ten_emails_fit_one_batch() -> None:
    # 400 + 10 × 550 + 2048 = 7948 <= 8192
    assert _sizes(_plan([550] * 10)) == [10]


def test_boundary_one_token_more_goes_to_next_batch() -> None:
    room = 8192 - 2048 - 644
    assert room == 5500
    assert _sizes(_plan([550] * 10, fixed_tokens=644)) == [10]
    assert _sizes(_plan([550] * 10, fixed_tokens=645)) == [9, 1]
    assert _sizes(_plan([550] * 9 + [551], fixed_tokens=644)) == [9, 1]


def test_order_preserved_and_greedy() -> None:
    items = [3000, 100, 3000, 100, 100]
    batches = _plan(items)
    assert [x for batch in batches for x in batch] == items
    # Greedy, not bin-packing: the 100 after the first 3000 fits, the next 3000 does not.
    assert batches == [[3000, 100], [3000, 100, 100]]


def test_calibration_shrinks_batches() -> None:
    calibration = TokenCalibration(factor=1.2)
    # 480 fixed + k × 660 + 2048 <= 8192 → k = 8
    assert _sizes(_plan([550] * 10, calibration=calibration)) == [8, 2]


def test_max_items() -> None:
    assert _sizes(_plan([10] * 7, max_items=3)) == [3, 3, 1]


def test_empty_input() -> None:
    assert _plan([]) == []


def test_item_too_large() -> None:
    with pytest.raises(ItemTooLarge) as info:
        _plan([550, 5745, 550])
    assert info.value.item == 5745
    assert info.value.tokens == 5745
    assert info.value.room == 8192 - 2048 - 400
    # Exactly the room fits alone.
    assert _sizes(_plan([550, 5744, 550])) == [1, 1, 1]


def test_item_too_large_after_calibration() -> None:
    with pytest.raises(ItemTooLarge) as info:
        _plan([5000], calibration=TokenCalibration(factor=1.2))
    assert info.value.tokens == 6000


def test_no_room_is_a_configuration_error() -> None:
    with pytest.raises(ValueError):
        _plan([10], fixed_tokens=6144)
    with pytest.raises(ValueError):
        _plan([10], max_items=0)
    with pytest.raises(ValueError):
        plan_batches([1], lambda _: -1, num_ctx=100, fixed_tokens=0, generation_reserve=0)


def test_split_batch() -> None:
    assert split_batch([1, 2, 3, 4]) == ([1, 2], [3, 4])
    assert split_batch([1, 2, 3]) == ([1, 2], [3])
    assert split_batch([1, 2]) == ([1], [2])
    for unsplittable in ([1], []):
        with pytest.raises(ValueError):
            split_batch(unsplittable)


# --- TokenCalibration ------------------------------------------------------------------------


def test_calibration_starts_neutral() -> None:
    calibration = TokenCalibration()
    assert calibration.factor == 1.0
    assert calibration.apply(1000) == 1000
    assert TokenCalibration(factor=1.2).apply(550) == 660
    assert TokenCalibration(factor=1.01).apply(1) == 2  # rounds up


def test_underestimate_raises_factor_at_once_with_margin() -> None:
    calibration = TokenCalibration()
    calibration.observe(estimated=1000, actual=1200)
    assert calibration.factor == pytest.approx(1.32)


def test_overestimate_never_goes_below_one() -> None:
    calibration = TokenCalibration()
    for _ in range(50):
        calibration.observe(estimated=1000, actual=600)
    assert calibration.factor == 1.0


def test_factor_relaxes_slowly_and_not_below_recent_ratios() -> None:
    calibration = TokenCalibration(window=5)
    calibration.observe(1000, 1200)
    high = calibration.factor
    calibration.observe(1000, 900)
    # 1.2 is still among the recent ratios: no relaxing below 1.32.
    assert calibration.factor == pytest.approx(high)
    for _ in range(4):
        calibration.observe(1000, 900)
    # 1.2 has left the window; the factor steps down 2 % per observation, not at once.
    assert calibration.factor == pytest.approx(high * 0.98)
    for _ in range(40):
        calibration.observe(1000, 900)
    assert calibration.factor == pytest.approx(1.0)


def test_missing_counts_are_ignored() -> None:
    calibration = TokenCalibration()
    calibration.observe(1000, 0)
    calibration.observe(0, 500)
    assert calibration.factor == 1.0


def test_factor_below_one_rejected() -> None:
    with pytest.raises(ValueError):
        TokenCalibration(factor=0.9)
