"""Query analysis: what each channel is asked."""

from __future__ import annotations

import pytest

from mnemos.engine.config import HYBRID, LEXICAL
from mnemos.engine.recall import (
    ANSWER_FORMS,
    QueryAnalysis,
    asked_attributes,
    asked_form,
    holds_form,
)
from mnemos.engine.text import analyze
from mnemos.memory import Memory


def test_bm25_leaves_out_the_names_of_the_people_asked_about() -> None:
    analysis = QueryAnalysis(
        terms=analyze("Where did Caroline Smith go with Mel and her dog Biscuit?"),
        people=["Caroline Smith", "Mel"],
    )
    assert analysis.lexical_terms() == analyze("Where did with and her dog Biscuit?")


def test_a_query_of_only_a_name_keeps_it() -> None:
    analysis = QueryAnalysis(terms=analyze("Caroline?"), people=["Caroline"])
    assert analysis.lexical_terms() == analyze("Caroline")


def test_names_not_known_as_people_stay() -> None:
    analysis = QueryAnalysis(terms=analyze("What did Oslo feel like?"), people=[])
    assert analysis.lexical_terms() == analysis.terms


def test_bm25_leaves_out_light_verbs() -> None:
    analysis = QueryAnalysis(terms=analyze("Who is getting married, and where?"))
    assert analysis.lexical_terms() == ["marri"]
    analysis = QueryAnalysis(terms=analyze("What did Caroline make for the party?"))
    assert analysis.lexical_terms() == analyze("Caroline party")


def test_a_query_of_only_light_verbs_and_names_keeps_the_names() -> None:
    analysis = QueryAnalysis(terms=analyze("What did Ana get?"), people=["Ana"])
    assert analysis.lexical_terms() == ["ana"]  # the name says more than "get"
    analysis = QueryAnalysis(terms=analyze("Did it get going?"))
    assert analysis.lexical_terms() == analysis.terms


def test_a_memory_matching_only_a_light_verb_is_not_a_lexical_hit(mem: Memory) -> None:
    mem.add(
        [
            {"role": "user", "name": "Ana", "content": "Biscuit still gets riverside walks."},
            {"role": "user", "name": "Ana", "content": "The wedding is in Sintra in May."},
        ],
        user_id="ana",
    )
    asked = mem.search("Who is getting married?", user_id="ana", config=LEXICAL)
    assert asked.hits == []  # "get" matched the walks; "married" matches nothing
    asked = mem.search("Who is getting married at the wedding?", user_id="ana", config=LEXICAL)
    assert [h.text for h in asked.hits] == ["The wedding is in Sintra in May."]


def test_bm25_leaves_out_words_that_phrase_the_question() -> None:
    analysis = QueryAnalysis(terms=analyze("What is the name of Ana's dog?"), people=["Ana"])
    assert analysis.lexical_terms() == ["dog"]
    analysis = QueryAnalysis(terms=analyze("What did Jon say about the store?"), people=["Jon"])
    assert analysis.lexical_terms() == ["store"]
    analysis = QueryAnalysis(terms=analyze("Where does Ana live now?"), people=["Ana"])
    assert analysis.lexical_terms() == ["live", "now"]  # "now" tells of a change
    analysis = QueryAnalysis(terms=analyze("What kind of name?"))
    assert analysis.lexical_terms() == analysis.terms  # nothing else to score


def test_a_memory_matching_only_a_question_word_is_not_a_lexical_hit(mem: Memory) -> None:
    for text in ["Say it again, louder!", "I work at Tidewater as an analyst."]:
        mem.add([{"role": "user", "name": "Ana", "content": text}], user_id="ana")
    asked = mem.search("What did Ana say about work?", user_id="ana", config=LEXICAL)
    assert [h.text for h in asked.hits] == ["I work at Tidewater as an analyst."]


def test_names_are_not_scored_when_the_rest_of_the_query_matches_nothing(mem: Memory) -> None:
    analysis = QueryAnalysis(terms=analyze("Where does Ana live?"), people=["Ana"])
    assert analysis.lexical_terms() == ["live"]
    mem.add([{"role": "user", "name": "Ana", "content": "I ran 5 km today."}], user_id="ana")
    mem.add([{"role": "user", "name": "Ana", "content": "My sister is Clara."}], user_id="ana")
    # "ana" is on every memory Ana said: as a term it would rank them all, by length.
    assert mem.search("Where does Ana live?", user_id="ana", config=LEXICAL).hits == []
    hits = mem.search("Where does Ana live?", user_id="ana").hits
    assert all("bm25" not in h.ranks for h in hits)


def test_a_question_after_a_single_valued_attribute_weights_the_profile_double() -> None:
    asked = QueryAnalysis(terms=[], slots=["ana|employer", "ana|occupation"])
    assert asked.asks_current_value()
    fused = asked.fusion_config(HYBRID)
    assert fused.weights["profile"] == 2 * HYBRID.weights["profile"]
    assert {c: w for c, w in fused.weights.items() if c != "profile"} == {
        c: w for c, w in HYBRID.weights.items() if c != "profile"
    }
    for slots in (["ana|likes"], ["ana|employer", "ana|plan"], []):
        other = QueryAnalysis(terms=[], slots=slots)
        assert not other.asks_current_value()
        assert other.fusion_config(HYBRID) is HYBRID
    assert QueryAnalysis(terms=[], slots=["ana|count:dog"]).asks_current_value()
    unweighted = HYBRID.model_copy(update={"weights": {"bm25": 1.0, "profile": 0.0}})
    assert asked.fusion_config(unweighted) is unweighted


def test_the_time_channel_counts_more_the_tighter_the_window() -> None:
    from datetime import UTC, datetime, timedelta

    from mnemos.engine.recall import WINDOW_FOCUS

    start = datetime(2022, 11, 9, tzinfo=UTC)
    base = HYBRID.weights["time"]
    weights = []
    for days in (1, 7, 30, 365):
        asked = QueryAnalysis(terms=[], window=(start, start + timedelta(days=days)))
        fused = asked.fusion_config(HYBRID)
        assert {c: w for c, w in fused.weights.items() if c != "time"} == {
            c: w for c, w in HYBRID.weights.items() if c != "time"
        }
        weights.append(fused.weights["time"])
    assert weights == [base * WINDOW_FOCUS[0][1], *[base * WINDOW_FOCUS[1][1]] * 2, base]
    assert weights[0] > weights[1] > weights[3]
    assert (
        QueryAnalysis(terms=[], window=(start, start + timedelta(days=365))).fusion_config(HYBRID)
        is HYBRID
    )
    untimed = HYBRID.model_copy(update={"weights": {"bm25": 1.0, "vector": 0.5}})
    a_day = QueryAnalysis(terms=[], window=(start, start + timedelta(days=1)))
    assert a_day.fusion_config(untimed) is untimed  # a channel turned off stays off


@pytest.mark.parametrize(
    ("question", "form"),
    [
        ("For how long has Nate had his turtles?", "duration"),
        ("How many years did Ana live in Porto?", "duration"),
        ("How often does Ana go running?", "frequency"),
        ("How many times a week does Bo swim?", "frequency"),
        ("What advice does Gina give to Jon?", "advice"),
        ("Which book did Tim recommend to John?", "advice"),
        ("What did Sam suggest for his knee?", "advice"),
        ("Any tips for a first marathon?", "advice"),
        ("How many dogs does Ana have?", None),
        ("When did Ana move?", None),
        ("What does Ana do for a long walk?", None),
    ],
)
def test_the_form_of_answer_a_question_asks_for(question: str, form: str | None) -> None:
    assert asked_form(question) == form


@pytest.mark.parametrize(
    ("text", "forms"),
    [
        ("I've had them for 3 years now.", {"duration"}),
        ("We dated for a couple of months.", {"duration"}),
        ("A 10-year-old car.", {"duration"}),
        ("I run every Sunday.", {"frequency"}),
        ("Three times per week, usually.", {"frequency"}),
        ("Twice a week.", {"duration", "frequency"}),  # "a week" is a span too
        ("I ran 5 km today.", set()),
        ("Make sure yours stands out, and don't forget the labels.", {"advice"}),
        ("You should get a couch that fits everyone.", {"advice"}),
        ("Just finished it. Highly reccomend it!", {"advice"}),
        ("You'd love this book.", {"advice"}),
        ("I'd recommend the sequel too.", {"advice"}),
        ("You'll love Barcelona!", {"advice"}),
        ("I love it.", set()),
        ("Barcelona is a must-visit city!", {"advice"}),
        ("How about this series?", {"advice"}),
        ("How about you?", set()),  # asks back, suggests nothing
        ("I made sure it was dairy-free.", set()),
        ("Years ago, maybe.", set()),  # no number: not how long
    ],
)
def test_what_holds_the_form_of_an_answer(text: str, forms: set[str]) -> None:
    assert {f for f in ANSWER_FORMS if holds_form(f, text)} == forms


def test_asking_who_of_nobody_named_asks_single_valued_attributes_of_anyone(
    mem: Memory,
) -> None:
    from datetime import UTC, datetime

    from mnemos.engine.recall import analyse_query

    mem.add([{"role": "user", "name": "Ana", "content": "I live in Porto."}], user_id="ana")
    engine = mem._engine_
    when = datetime(2030, 1, 1, tzinfo=UTC)

    def asked(question: str) -> QueryAnalysis:
        return analyse_query(engine.store, engine.access, "ana", question, when)

    who = asked("Who is getting married?")
    assert who.attributes == ["relationship status"]
    assert who.asks_current_value()
    assert asked("Who lives in Lisbon now?").attributes == ["residence"]
    assert asked("Who likes hiking?").attributes == []  # everything anyone liked: no
    assert asked("Is anyone getting married?").attributes == []  # not asking who
    named = asked("Who does Ana live with?")
    assert named.attributes == []
    assert named.slots == ["ana|residence"]


def test_working_out_is_not_asked_of_work() -> None:
    assert asked_attributes("Where does John work?") == ["employer", "occupation"]
    assert asked_attributes("How often does John work out with his family?") == []
    assert asked_attributes("When did Ana start working out?") == []
    assert "employer" in asked_attributes("Did Ana work out where to work next?")
