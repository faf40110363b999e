"""Rendering and updating the triage Modelfile."""

from __future__ import annotations

from tui.paths import repo_modelfile
from tui.planning.modelfile import ModelfileSettings, read_num_ctx, render_modelfile
from tui.prompts import TRIAGE_SYSTEM_PROMPT

SEED = ModelfileSettings(base_model="devstral-small:latest", num_ctx=8192,
                         system_prompt=TRIAGE_SYSTEM_PROMPT, temperature=0.1)


def test_fresh_render_has_the_owned_instructions() -> None:
    text = render_modelfile(SEED)
    assert "FROM devstral-small:latest\n" in text
    assert "PARAMETER num_ctx 8192\n" in text
    assert "PARAMETER temperature 0.1\n" in text
    assert 'SYSTEM """You triage email' in text
    assert read_num_ctx(text) == 8192


def test_rerender_is_byte_identical() -> None:
    text = render_modelfile(SEED)
    assert render_modelfile(SEED, text) == text


def test_changing_num_ctx_changes_only_that_line_and_keeps_user_lines() -> None:
    original = render_modelfile(SEED)
    customised = original + "PARAMETER top_k 20\n# my note\nPARAMETER stop \"</s>\"\n"
    updated = render_modelfile(
        ModelfileSettings(SEED.base_model, 6144, SEED.system_prompt, SEED.temperature),
        customised,
    )
    before, after = customised.splitlines(), updated.splitlines()
    assert len(before) == len(after)
    changed = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
    assert changed == [("PARAMETER num_ctx 8192", "PARAMETER num_ctx 6144")]


def test_multiline_system_prompt_is_replaced_whole() -> None:
    existing = 'FROM x\nSYSTEM """obsolete\nprompt\nspanning-lines"""\nPARAMETER num_ctx 2048\n'
    updated = render_modelfile(SEED, existing)
    assert "obsolete" not in updated and "spanning-lines" not in updated
    assert updated.count("SYSTEM") == 1
    assert updated.startswith("FROM devstral-small:latest\n")


def test_missing_instructions_are_added() -> None:
    updated = render_modelfile(SEED, "# only a comment\nPARAMETER top_p 0.9\n")
    assert updated.startswith("FROM devstral-small:latest\n")
    assert "PARAMETER top_p 0.9" in updated and read_num_ctx(updated) == 8192


def test_the_shipped_modelfile_is_the_seed_plan() -> None:
    shipped = repo_modelfile().read_text(encoding="utf-8")
    assert render_modelfile(SEED, shipped) == shipped
    assert read_num_ctx(shipped) == 8192
