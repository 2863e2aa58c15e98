"""The lexical analyser and the token counter."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mnemos.engine.text import analyze, content_hash, count_tokens, tokenize


def test_analyze_stems_and_drops_stop_words() -> None:
    assert analyze("The puppies were running in the park") == ["puppi", "run", "park"]


def test_possessives_and_curly_apostrophes_reduce_to_the_name() -> None:
    assert analyze("Caroline's") == analyze("Caroline\u2019s") == analyze("Caroline")


def test_accents_and_case_fold() -> None:
    assert analyze("CAFÉ Café cafe") == ["cafe", "cafe", "cafe"]


def test_contractions_stay_whole_when_tokenised() -> None:
    assert tokenize("I'm sure it isn't") == ["i'm", "sure", "it", "isn't"]


def test_numbers_are_terms() -> None:
    assert "2023" in analyze("back in 2023")


def test_token_count_is_roughly_words() -> None:
    text = "I went to a support group yesterday and it was so powerful."
    assert 12 <= count_tokens(text) <= 16
    assert count_tokens("") == 0
    assert count_tokens("internationalization") == 4


def test_content_hash_is_stable() -> None:
    assert content_hash("abc") == content_hash("abc") != content_hash("abd")
    assert len(content_hash("abc")) == 32


@given(st.text())
def test_analyze_never_fails_and_returns_folded_terms(text: str) -> None:
    for term in analyze(text):
        assert term
        # Case folding, not lower(): Unicode folds some letters to upper-case forms
        # (Cherokee), and the analyser must agree with itself, not with lower().
        assert term == term.casefold()
        assert " " not in term
