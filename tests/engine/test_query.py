"""Query analysis: what each channel is asked."""

from __future__ import annotations

from mnemos.engine.recall import QueryAnalysis
from mnemos.engine.text import analyze


def test_bm25_leaves_out_the_names_of_the_people_asked_about() -> None:
    analysis = QueryAnalysis(
        terms=analyze("Where did Caroline Smith go with Mel and her dog Biscuit?"),
        people=["Caroline Smith", "Mel"],
    )
    assert analysis.lexical_terms() == analyze("Where did go with and her dog Biscuit?")


def test_a_query_of_only_a_name_keeps_it() -> None:
    analysis = QueryAnalysis(terms=analyze("Caroline?"), people=["Caroline"])
    assert analysis.lexical_terms() == analyze("Caroline")


def test_names_not_known_as_people_stay() -> None:
    analysis = QueryAnalysis(terms=analyze("What did Oslo feel like?"), people=[])
    assert analysis.lexical_terms() == analysis.terms
