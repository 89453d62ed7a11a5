"""Encoders pad a batch to its longest text, so triage batches texts of similar length."""

from __future__ import annotations

from knowledge.batching import length_groups


def test_a_long_message_is_not_batched_with_its_sentences() -> None:
    sentences = ["I walked to the park.", "It was sunny.", "Then I had tea with Jo at the cafe."]
    whole = " ".join(sentences * 6)
    groups = length_groups([whole, *sentences])
    assert sorted(i for g in groups for i in g) == [0, 1, 2, 3]
    assert [0] in groups and len(groups) == 2


def test_groups_keep_every_index_once_and_respect_the_batch_size() -> None:
    texts = [f"message {'x' * (i % 7)}" for i in range(150)]
    groups = length_groups(texts, max_batch=64)
    assert sorted(i for g in groups for i in g) == list(range(150))
    assert max(len(g) for g in groups) == 64
    assert length_groups([]) == []
