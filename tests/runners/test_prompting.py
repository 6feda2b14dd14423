from __future__ import annotations

import pytest

from domaintune.lm import TEMPLATES
from domaintune.runners._prompting import PromptBuilder, answer_text, choose_exemplars


@pytest.fixture(scope="module")
def tokenizer(smollm2_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(smollm2_dir)


def test_library_has_at_least_six_templates():
    assert len(TEMPLATES) >= 6


@pytest.mark.parametrize("view", ["term_to_definition", "definition_to_term"])
@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_prefix_plus_query_holds_exemplars_then_the_question(tokenizer, jargon, template, view):
    data = jargon.view(view)
    exemplars = choose_exemplars(data.splits["train"], 2, seed=0)
    builder = PromptBuilder(tokenizer, template, data.title, exemplars, view=view)
    row = data.splits["validation"][0]
    text = tokenizer.decode(builder.prefix_ids + builder.query_ids(row["question"]))
    for exemplar in exemplars:
        assert exemplar["question"] in text and answer_text(exemplar) in text
    # The question comes after every exemplar, and its own answer is nowhere in the prompt.
    assert text.rindex(row["question"]) > max(text.index(answer_text(e)) for e in exemplars)
    assert answer_text(row) not in text


def test_the_view_changes_the_wording(tokenizer, jargon):
    row = jargon.splits["validation"][0]
    forward = PromptBuilder(tokenizer, "instruction", "hacker jargon", [], view="term_to_definition")
    backward = PromptBuilder(tokenizer, "instruction", "hacker jargon", [], view="definition_to_term")
    assert tokenizer.decode(forward.query_ids(row["term"])).endswith(f"Term: {row['term']}\nDefinition:")
    assert tokenizer.decode(backward.query_ids(row["definition"])).endswith(f"Definition: {row['definition']}\nTerm:")


def test_zero_shot_has_no_exemplars_and_exemplars_come_from_train(jargon):
    jargon = jargon.view()
    assert choose_exemplars(jargon.splits["train"], 0, seed=1) == []
    picked = choose_exemplars(jargon.splits["train"], 3, seed=1)
    assert len(picked) == 3 and all(row in jargon.splits["train"] for row in picked)
    assert picked == choose_exemplars(jargon.splits["train"], 3, seed=1)


def test_training_example_holds_prompt_then_answer_then_eos(tokenizer, jargon):
    builder = PromptBuilder(tokenizer, "instruction", "hacker jargon", [], view="term_to_definition")
    row = jargon.view().splits["train"][0]
    prompt, answer = builder.training_example(row)
    assert row["question"] in tokenizer.decode(prompt)
    assert tokenizer.decode(answer).strip().startswith(answer_text(row)[:20])
    assert answer[-1] == tokenizer.eos_token_id


class _BosTokenizer:
    """A tokenizer that starts every text with <bos> (id 2), as Gemma 3's does; SmolLM2's adds none."""

    bos_token_id, bos_token, eos_token_id = 2, "<bos>", 1

    def __call__(self, text, add_special_tokens=True):
        ids = [ord(c) + 10 for c in text]
        return {"input_ids": ([2] if add_special_tokens else []) + ids}


def test_a_model_that_needs_bos_gets_it_once_at_the_head_of_prompt_and_training_example(tokenizer, jargon):
    from domaintune.runners._prompting import leading_bos

    assert leading_bos(tokenizer) == []  # SmolLM2: nothing changes
    assert leading_bos(_BosTokenizer()) == [2]
    view = jargon.view("definition_to_term")
    builder = PromptBuilder(_BosTokenizer(), "instruction", view.title, view.splits["train"][:2], view=view.view_name)
    assert builder.prefix_ids[0] == 2 and builder.prefix_ids.count(2) == 1
    prompt, _ = builder.training_example(view.splits["train"][0])
    assert prompt[0] == 2 and prompt.count(2) == 1
