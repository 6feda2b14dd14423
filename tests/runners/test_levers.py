"""Each lever changes what the model sees or trains, as claimed (tiny model, real data)."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from domaintune.errors import ConfigError
from domaintune.runners import LMRunner, RunnerSettings
from domaintune.runners._adapters import apply_adapter, prefix_cache
from domaintune.runners._prompting import PromptBuilder, answer_text
from domaintune.runners._retrieval import chunk, retriever
from domaintune.runners._choices import accuracy
from domaintune.runners._scoring import option_scores
from domaintune.runners._selection import dsir_weights, fixed_exemplars, similar_exemplars, training_subset
from domaintune.strategy import Strategy


@pytest.fixture(scope="module")
def law():
    from domaintune.domains import load_domain

    return load_domain("gcide-law")


@pytest.fixture(scope="module")
def tokenizer(tiny_model_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model_dir)


# black-box ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["bm25", "dense", "hybrid"])
def test_retrieval_finds_the_terms_own_corpus_entry_and_puts_it_in_the_prompt(law, tokenizer, method):
    search = retriever(law, method, 0)
    view = law.view("term_to_definition")
    covered = [r for r in view.splits["test"] if any(p["title"] == r["question"] for p in law.corpus)][:20]
    hits = sum(any(p.startswith(f"{r['question']}:") for p in search.search(r["question"], 3)) for r in covered)
    assert hits >= 0.6 * len(covered), (method, hits)
    row = covered[0]
    passages = search.search(row["question"], 2)
    builder = PromptBuilder(tokenizer, "instruction", law.title, [], view="term_to_definition")
    text = tokenizer.decode(builder.encode(row, passages=passages).query)
    assert all(p in text for p in passages) and text.index(passages[0]) < text.index(f"Term: {row['question']}")


def test_passage_position_and_chunking(law, tokenizer):
    exemplars = law.view().splits["train"][:2]
    row = law.view().splits["test"][0]
    first = PromptBuilder(tokenizer, "instruction", law.title, exemplars, view="term_to_definition", passages_first=True)
    text = tokenizer.decode(first.encode(row, passages=["PASSAGE ONE"]).query)
    assert first.prefix_ids == [] and text.index("PASSAGE ONE") < text.index(exemplars[0]["question"])
    pieces = chunk([{"title": "t", "text": " ".join(f"w{i}" for i in range(25))}], 10)
    assert len(pieces) == 3 and all(p.startswith("t: ") for p in pieces)


def test_retrieval_on_a_domain_without_corpus_is_refused(small_domain, tiny_model_dir):
    with pytest.raises(ConfigError, match="no knowledge corpus"):
        LMRunner(RunnerSettings(model=tiny_model_dir, questions=2)).run(small_domain, Strategy(retrieval="bm25"))


# grey-box ----------------------------------------------------------------------------------------


def test_similar_exemplars_are_the_most_similar_train_rows(law):
    from domaintune.lm import embed

    train = law.view().splits["train"]
    question = law.view().splits["test"][0]["question"]
    chosen = similar_exemplars(train, 3)(question)
    scores = embed([r["question"] for r in train]) @ embed([question])[0]
    best = {train[i]["question"] for i in scores.argsort()[-3:]}
    assert {r["question"] for r in chosen} == best


def test_diverse_exemplars_are_less_alike_than_random_ones(law):
    from domaintune.lm import embed

    train = law.view().splits["train"]
    diverse = fixed_exemplars(train, 5, "diverse", seed=0)

    def similarity(rows):
        v = embed([r["question"] + " " + answer_text(r) for r in rows])
        return float(((v @ v.T).sum() - len(rows)) / (len(rows) * (len(rows) - 1)))

    randoms = [similarity(fixed_exemplars(train, 5, "random", seed=s)) for s in range(8)]
    assert len(diverse) == 5 and similarity(diverse) < sum(randoms) / len(randoms)


@pytest.mark.parametrize("adapter", ["prompt_tuning", "prefix_tuning"])
def test_soft_prompt_trains_virtual_tokens_only_and_scores_like_peft(tiny_model_dir, small_view, tokenizer, adapter):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    base = {k: v.clone() for k, v in model.state_dict().items()}
    strategy = Strategy(adapter=adapter, virtual_tokens=4, steps=3, batch_size=2, learning_rate=0.05)
    builder = PromptBuilder(tokenizer, "plain", "jargon", [], view="term_to_definition")
    peft_model = apply_adapter(model, tokenizer, strategy, builder.instruction_text(), seed=0)
    trainable = {n for n, p in peft_model.named_parameters() if p.requires_grad}
    assert trainable and all("prompt_encoder" in n for n in trainable)
    before = {n: p.detach().clone() for n, p in peft_model.named_parameters() if p.requires_grad}
    from domaintune.runners._adapters import train

    examples = [builder.training_example(r) for r in small_view.splits["train"][:8]]
    train(peft_model, examples, strategy, 64, tokenizer.pad_token_id, 0, lambda *a: None)
    after = dict(peft_model.named_parameters())
    assert all(not torch.equal(before[n], after[n].detach()) for n in before)  # virtual tokens moved
    for name, value in peft_model.get_base_model().state_dict().items():
        assert torch.equal(value, base[name]), name  # base weights did not
    # The cached soft-prompt prefix scores options exactly as peft's own forward pass does.
    item = builder.encode(small_view.splits["validation"][0])
    with torch.no_grad():
        scorer, cache, n = prefix_cache(peft_model, strategy)
        cached = option_scores(scorer, cache, n, item, tokenizer.pad_token_id)
        naive = []
        for option in item.options:
            ids = torch.tensor([item.query + option])
            logits = peft_model(input_ids=ids).logits[0, -ids.shape[1]:]
            logprobs = torch.log_softmax(logits.float(), dim=-1)
            naive.append(sum(logprobs[len(item.query) - 1 + i, t].item() for i, t in enumerate(option)) / len(option))
    assert cached == pytest.approx(naive, abs=1e-4)


# white-box ---------------------------------------------------------------------------------------


def test_full_finetuning_trains_every_weight(tiny_model_dir, tokenizer):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    model = apply_adapter(model, tokenizer, Strategy(adapter="full"), "", seed=0)
    assert all(p.requires_grad for p in model.parameters())


@pytest.mark.parametrize("flag", ["lora_rslora", "lora_dora"])
def test_rslora_and_dora_switches_reach_peft(tiny_model_dir, tokenizer, flag):
    from transformers import AutoModelForCausalLM

    model = apply_adapter(AutoModelForCausalLM.from_pretrained(tiny_model_dir), tokenizer, Strategy(adapter="lora", **{flag: True}), "", 0)
    config = model.peft_config["default"]
    assert (config.use_rslora, config.use_dora) == (flag == "lora_rslora", flag == "lora_dora")
    assert any("lora_magnitude_vector" in n for n, _ in model.named_parameters()) == (flag == "lora_dora")


@pytest.mark.parametrize("schedule", ["constant", "linear", "cosine"])
def test_lr_schedule_sets_every_training_steps_learning_rate(tiny_model_dir, tokenizer, monkeypatch, schedule):
    from transformers import AutoModelForCausalLM

    from domaintune.runners._adapters import lr_factor, train

    seen: list[float] = []
    real_step = torch.optim.AdamW.step

    def spy(optimizer, *args, **kwargs):  # the real AdamW step, with the rate it is about to use noted
        seen.append(optimizer.param_groups[0]["lr"])
        return real_step(optimizer, *args, **kwargs)

    monkeypatch.setattr(torch.optim.AdamW, "step", spy)
    strategy = Strategy(adapter="lora", steps=8, warmup_steps=2, learning_rate=0.01, batch_size=2, lr_schedule=schedule)
    model = apply_adapter(AutoModelForCausalLM.from_pretrained(tiny_model_dir), tokenizer, strategy, "", 0)
    examples = [(tokenizer.encode(f"Term {i}:"), tokenizer.encode(f" meaning {i}")) for i in range(4)]
    train(model, examples, strategy, max_length=32, pad_id=0, seed=0, on_step=lambda *_: None)
    assert seen == pytest.approx([0.01 * lr_factor(step, strategy) for step in range(8)])
    assert seen[:3] == pytest.approx([0.01 / 3, 0.02 / 3, 0.01])  # warmup reaches the full rate at step 3
    if schedule == "constant":
        assert seen[2:] == pytest.approx([0.01] * 6)
    else:  # decays after warmup, never to 0 within the run
        assert all(a > b for a, b in zip(seen[2:], seen[3:])) and seen[-1] > 0
        assert seen[-1] == pytest.approx(0.01 * (1 / 6 if schedule == "linear" else 0.5 * (1 + math.cos(math.pi * 5 / 6))))


def test_a_constant_lr_schedule_keeps_older_records_keys():
    old = Strategy(adapter="lora", steps=16, warmup_steps=2)
    assert "lr_schedule" not in old.active() and old.active() == Strategy.from_dict(old.active()).active()
    cosine = old.model_copy(update={"lr_schedule": "cosine"})
    assert cosine.active()["lr_schedule"] == "cosine" and cosine.describe().endswith("lr_schedule=cosine")
    assert "lr_schedule" not in Strategy(lr_schedule="cosine").active()  # nothing trains: no schedule


def test_data_subsets_have_the_requested_size_and_property(law):
    rows = law.view().splits["train"][:120]
    for method in ("random", "clusters", "dedup", "dsir"):
        subset = training_subset(rows, 30, method, seed=0, target=[r["question"] for r in law.view().splits["validation"]])
        assert len(subset) == 30 and len({r["question"] for r in subset}) == 30, method
    # difficulty: the hard band has higher loss than the easy band
    fake_loss = {r["question"]: float(i) for i, r in enumerate(rows)}
    easy = training_subset(rows, 10, "difficulty", 0, losses=lambda rs: [fake_loss[r["question"]] for r in rs], band="easy")
    hard = training_subset(rows, 10, "difficulty", 0, losses=lambda rs: [fake_loss[r["question"]] for r in rs], band="hard")
    assert max(fake_loss[r["question"]] for r in easy) < min(fake_loss[r["question"]] for r in hard)


def test_dsir_prefers_rows_like_the_target(law):
    rows = law.view().splits["train"][:200]
    target = ["a writ or process of the court"] * 50
    weights = dsir_weights(rows, target)
    chosen = training_subset(rows, 20, "dsir", 0, target=target)
    mean = sum(weights) / len(weights)
    picked = [weights[rows.index(r)] for r in chosen]
    assert sum(picked) / len(picked) > mean


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"adapter": "lora", "data_selection": "difficulty", "train_fraction": 0.9}, "train_fraction must be at most 0.33"),
        ({"adapter": "lora", "data_selection": "clusters", "train_fraction": 1.0}, "selects nothing"),
        ({"adapter": "lora", "warmup_steps": 20, "steps": 10}, "warmup_steps"),
        ({"retrieval": "sparse"}, "retrieval"),
        ({"adapter": "qlora"}, "adapter"),
    ],
)
def test_invalid_combinations_are_rejected(values, message):
    with pytest.raises(ConfigError, match=message):
        Strategy.from_dict(values)


def test_invalid_combination_is_fine_when_its_parent_is_off():
    Strategy.from_dict({"adapter": "none", "data_selection": "difficulty", "train_fraction": 0.9})


def test_cost_counts_prompt_tokens_flops_and_memory(tiny_model_dir, law):
    small = dataclasses.replace(law, splits={k: v[:30] for k, v in law.splits.items()}, fingerprint="")
    runner = LMRunner(RunnerSettings(model=tiny_model_dir, questions=4, eval_every=2))
    plain = runner.run(small, Strategy())
    rag = runner.run(small, Strategy(retrieval="bm25", top_k=3))
    lora = runner.run(small, Strategy(adapter="lora", steps=2, batch_size=2))
    assert rag.cost["prompt_tokens"] > plain.cost["prompt_tokens"] + 10
    assert plain.cost["train_flops"] == 0 and lora.cost["train_flops"] > 0 and lora.cost["eval_flops"] > 0
    assert lora.cost["train_flops"] == pytest.approx(lora.cost["train_tokens"] * (4 * lora.cost["total_params"] + 2 * lora.cost["trainable_params"]))
    assert plain.cost["peak_memory_mb"] > 100


def test_calibrated_scoring_subtracts_each_options_content_free_score(tiny_model_dir, small_view, tokenizer):
    from transformers import AutoModelForCausalLM, DynamicCache

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval()
    builder = PromptBuilder(tokenizer, "instruction", "jargon", [], view="term_to_definition")
    items = [builder.encode(r) for r in small_view.splits["validation"][:6]]
    neutral = builder.query_ids("N/A")
    expected = 0
    with torch.no_grad():
        for item in items:
            raw = option_scores(model, DynamicCache(config=model.config), 0, item, tokenizer.pad_token_id)
            base = option_scores(model, DynamicCache(config=model.config), 0, dataclasses.replace(item, query=neutral), tokenizer.pad_token_id)
            calibrated = [a - b for a, b in zip(raw, base)]
            expected += max(range(4), key=calibrated.__getitem__) == item.answer
    assert accuracy(model, [], items, tokenizer.pad_token_id, calibration=neutral) == pytest.approx(expected / len(items))


def test_kg_facts_are_about_the_questions_entities_and_never_from_scored_answers(law, tokenizer):
    from domaintune.runners._graph import facts_for

    for view in ("term_to_definition", "definition_to_term"):
        data = law.view(view)
        answers = {answer_text(r) for split in ("validation", "test") for r in data.splits[split]}
        with_facts = 0
        for row in data.splits["test"][:40]:
            facts = facts_for(data, row["question"], 4)
            assert len(facts) <= 4
            with_facts += bool(facts)
            for fact in facts:
                assert not any(len(a) > 20 and a in fact for a in answers)  # no scored definition inside a fact
                if view == "term_to_definition":
                    assert row["question"].lower() in fact.lower()
        assert with_facts >= 5, view
    row = law.view().splits["test"][0]
    builder = PromptBuilder(tokenizer, "instruction", law.title, [], view="term_to_definition")
    facts = ["alpha is defined in terms of beta."]
    assert facts[0] in tokenizer.decode(builder.encode(row, passages=facts).query)
