from __future__ import annotations

import pytest

from domaintune.prompts import TEMPLATES
from domaintune.runners._prompting import PromptBuilder, choose_exemplars


@pytest.fixture(scope="module")
def tokenizer(smollm2_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(smollm2_dir)


def test_library_has_at_least_three_templates():
    assert len(TEMPLATES) >= 3


@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_prefix_plus_query_decodes_to_exemplars_then_question(tokenizer, jargon, template):
    exemplars = choose_exemplars(jargon.splits["train"], 2, seed=0)
    builder = PromptBuilder(tokenizer, template, "the Jargon File", exemplars)
    row = jargon.splits["validation"][0]
    text = tokenizer.decode(builder.prefix_ids + builder.query_ids(row["term"]))
    for exemplar in exemplars:
        assert exemplar["term"] in text and exemplar["definition"] in text
    assert text.rstrip().endswith(("assistant", f"{row['term']}:", "Definition:", "means")) or row["term"] in text
    # The question's own answer never appears in the prompt.
    assert row["definition"] not in text


def test_zero_shot_has_no_exemplars_and_exemplars_come_from_train(jargon):
    assert choose_exemplars(jargon.splits["train"], 0, seed=1) == []
    picked = choose_exemplars(jargon.splits["train"], 3, seed=1)
    assert len(picked) == 3 and all(row in jargon.splits["train"] for row in picked)
    assert picked == choose_exemplars(jargon.splits["train"], 3, seed=1)


def test_training_example_masks_nothing_but_holds_prompt_then_answer(tokenizer, jargon):
    builder = PromptBuilder(tokenizer, "instruction", "the Jargon File", [])
    row = jargon.splits["train"][0]
    prompt, answer = builder.training_example(row)
    assert row["term"] in tokenizer.decode(prompt)
    assert tokenizer.decode(answer).strip().startswith(row["definition"][:20])
    assert answer[-1] == tokenizer.eos_token_id
