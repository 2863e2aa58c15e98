"""Sentences, person rewriting, entities and claims."""

from __future__ import annotations

import pytest

from mnemos.nlp.entities import entity_key, extract_mentions
from mnemos.nlp.facts import analyse_sentence
from mnemos.nlp.person import (
    about_someone,
    as_first_person,
    asked_relations,
    named_relations,
    rewrite_person,
)
from mnemos.nlp.sentences import split_sentences


def sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in split_sentences(text)]


def test_sentence_splitting() -> None:
    assert sentences("Hey Mel! Good to see you! How have you been?") == [
        "Hey Mel!", "Good to see you!", "How have you been?"
    ]  # fmt: skip
    assert sentences("I met Dr. Smith at 3 p.m. yesterday. It was fine.") == [
        "I met Dr. Smith at 3 p.m. yesterday.", "It was fine."
    ]  # fmt: skip
    assert sentences("So happy. [shares a photo: a dog on a beach]") == [
        "So happy.", "[shares a photo: a dog on a beach]"
    ]  # fmt: skip
    assert sentences("Line one\nLine two") == ["Line one", "Line two"]
    assert sentences("   ") == []


@pytest.mark.parametrize(
    ("said", "speaker", "addressee", "expected"),
    [
        ("I adopted a puppy", "Caroline", "Mel", "Caroline adopted a puppy"),
        (
            "I love painting and I really enjoy pottery",
            "Ana",
            None,
            "Ana loves painting and Ana really enjoys pottery",
        ),
        ("I'm so excited", "Ana", None, "Ana is so excited"),
        ("I've been to Paris twice", "Ana", None, "Ana has been to Paris twice"),
        ("My mom and I made some pots", "Mel", None, "Mel's mom and Mel made some pots"),
        ("We're thinking about camping", "Mel", None, "Mel and others are thinking about camping"),
        ("You should try it!", "Mel", "Ana", "Ana should try it!"),
        ("Your empathy will help people", "Mel", "Ana", "Ana's empathy will help people"),
        ("I don't eat meat anymore", "Ana", None, "Ana doesn't eat meat anymore"),
        ("I no longer play the violin", "Ana", None, "Ana no longer plays the violin"),
        ("I quit Siemens last week", "Mia", None, "Mia quit Siemens last week"),  # past
        ("I put it there", "Ana", None, "Ana put it there"),
        ("Thank you so much!", "Ana", "Bo", "Thank you so much!"),
        ("I adopted a puppy", None, None, "I adopted a puppy"),
    ],
)
def test_person_rewriting(
    said: str, speaker: str | None, addressee: str | None, expected: str
) -> None:
    assert rewrite_person(said, speaker, addressee) == expected


@pytest.mark.parametrize(
    ("said", "speaker", "expected"),
    [
        ("Ana works at Tidewater.", "Ana", "I work at Tidewater."),
        ("Ana moved to Lisbon in March", "Ana", "I moved to Lisbon in March"),
        ("Ana no longer eats meat.", "Ana", "I no longer eat meat."),
        ("Ana is vegetarian.", "Ana", "I am vegetarian."),
        ("Ana doesn't drink coffee.", "Ana", "I don't drink coffee."),
        ("Ana's moving to Porto.", "Ana", "I am moving to Porto."),
        ("Ana will start in June.", "Ana", "I will start in June."),
        ("Ana lives in Porto.", "Ana Silva", "I live in Porto."),
        ("Ana got a job at Tidewater.", "Ana", "I got a job at Tidewater."),
        ("Ana works at Tidewater and she loves it.", "Ana", "I work at Tidewater and I love it."),
        ("Ana's dog is Biscuit.", "Ana", None),
        ("Ana's wedding is in May.", "Ana", None),
        ("Anabel lives in Porto.", "Ana", None),
        ("Ana and Bo live in Porto.", "Ana", None),
        ("Ana, you were right.", "Ana", None),
        ("Clara lives in Sintra.", "Ana", None),
        ("Ana works at Tidewater.", None, None),
    ],
)
def test_a_speaker_speaking_of_themself_by_name_reads_as_first_person(
    said: str, speaker: str | None, expected: str | None
) -> None:
    assert as_first_person(said, speaker) == expected


@pytest.mark.parametrize(
    ("said", "known", "expected"),
    [
        ("Clara lives in Sintra.", {"clara"}, ("I live in Sintra.", "Clara")),
        ("Clara went to Lisbon.", {"clara"}, ("I went to Lisbon.", "Clara")),
        ("Zoë is vegetarian.", {"zoë"}, ("I am vegetarian.", "Zoë")),
        ("Clara's moving to Braga.", {"clara"}, ("I am moving to Braga.", "Clara")),
        ("Clara Silva lives in Sintra.", {"clara"}, ("I live in Sintra.", "Clara Silva")),
        (
            "Big news: my sister Clara got engaged last Saturday!",
            set(),
            ("I got engaged last Saturday!", "Clara"),
        ),
        ("My best friend Tom plays the violin.", set(), ("I play the violin.", "Tom")),
        (
            "My sister Clara lives in Sintra and she's a nurse.",
            set(),
            ("I live in Sintra and I am a nurse.", "Clara"),
        ),
        (
            "Clara moved but she's been happy.",
            {"clara"},
            ("I moved but I have been happy.", "Clara"),
        ),
        ("Clara lives in Sintra.", set(), None),  # not known to be a person
        ("Porto is lovely.", set(), None),
        ("Clara, you should come!", {"clara"}, None),
        ("Clara's wedding is in May.", {"clara"}, None),
        ("Tidewater hired Clara.", {"clara"}, None),
        ("I think Clara moved.", {"clara"}, None),
        ("Ana works at Tidewater.", {"ana"}, None),  # the speaker: as_first_person's
    ],
)
def test_a_clause_about_someone_else_reads_as_what_they_would_say(
    said: str, known: set[str], expected: tuple[str, str] | None
) -> None:
    assert about_someone(said, known, "Ana") == expected


def test_who_someone_is_to_the_speaker_is_read_from_my_relation_name() -> None:
    assert named_relations("Big news: my sister Clara got engaged!") == [("sister", "Clara")]
    assert named_relations("My best friend Tom plays the violin.") == [("friend", "Tom")]
    assert named_relations("I met my manager, Rui, today.") == [("manager", "Rui")]
    assert named_relations("It was my daughter Sara's birthday.") == [("daughter", "Sara")]
    assert named_relations("I love my dog Max and my cat Luna") == [("dog", "Max"), ("cat", "Luna")]
    for none in ("My favourite Lord of the Rings", "my sister. Clara came", "Biscuit, my beagle"):
        assert named_relations(none) == []


def test_a_question_names_someone_by_who_they_are_to_someone() -> None:
    assert asked_relations("Where does Ana's sister live?") == {"ana's sister": "ana"}
    assert asked_relations("Where does my older sister live?", lambda: ["ana", "bo"]) == {
        "ana's sister": None,
        "bo's sister": None,
        "user's sister": None,
    }
    assert asked_relations("Where does Ana's team play?") == {}  # not a relation

    def unasked() -> list[str]:
        raise AssertionError("owners are only read for 'my'")

    assert asked_relations("Where does Ana's sister live?", unasked) == {"ana's sister": "ana"}


def test_an_agent_writing_of_the_user_reads_as_the_user_speaking() -> None:
    also = ("The user", "User")
    assert as_first_person("The user lives in Madrid.", None, also) == "I live in Madrid."
    assert as_first_person("the user is vegetarian", "Ana", also) == "I am vegetarian"
    assert as_first_person("User prefers aisle seats.", None, also) == "I prefer aisle seats."
    for other in ("Users like it.", "The user's dog is Biscuit.", "The weather is nice."):
        assert as_first_person(other, None, also) is None
    assert as_first_person("The user lives in Madrid.", None) is None  # not asked to


def test_entities_are_typed_and_keyed() -> None:
    found = {
        (m.text, m.key, m.kind)
        for m in extract_mentions(
            "My sister Clara moved to Sintra and joined Quinta Labs after the Lord of the Rings marathon.",
            ["ana"],
        )
    }
    assert ("Clara", "clara", "person") in found
    assert ("Sintra", "sintra", "place") in found
    assert ("Quinta Labs", "quinta labs", "organization") in found
    assert ("Lord of the Rings", "lord of the rings", "thing") in found
    assert ("sister", "sister", "concept") in found


def test_aliases_and_sentence_starts() -> None:
    mentions = extract_mentions("Mel and I went hiking. Wow, Tuesday was great.", ["melanie"])
    assert [(m.text, m.key, m.kind) for m in mentions if m.kind == "person"] == [
        ("Mel", "melanie", "person")
    ]
    assert "wow" not in {m.key for m in mentions}
    assert entity_key("adoption agencies") == "adoption agency"
    assert entity_key("Caroline's") == "caroline"


@pytest.mark.parametrize(
    "sentence",
    [
        "I'm so excited about the trip.",
        "Don't worry, I've got it.",
        "We're moving and they're helping.",
        "Let's go hiking.",
        "There's a cat, and I'd love one.",
        "Can't wait! Haven't seen it yet.",
    ],
)
def test_contractions_are_not_names(sentence: str) -> None:
    assert [m.text for m in extract_mentions(sentence, ["ana"]) if m.kind != "concept"] == []


def test_a_verb_after_its_subject_is_not_a_concept() -> None:
    said = "I felt so much joy at the beach, we saw a sunset and I want to keep painting."
    concepts = [m.text for m in extract_mentions(said, ["ana"]) if m.kind == "concept"]
    assert concepts == ["joy", "beach", "sunset", "painting"]
    # The same words where a noun goes stay concepts.
    kept = extract_mentions("The keep of the castle and a felt hat for the wait.", ["ana"])
    assert {"keep", "felt hat", "wait"} <= {m.text for m in kept}


def test_names_with_apostrophes_stay_names() -> None:
    found = {m.text for m in extract_mentions("I met O'Neil at Caroline's party.", ["ana"])}
    assert {"O'Neil", "Caroline"} <= found


@pytest.mark.parametrize(
    ("sentence", "kind", "claims"),
    [
        ("I live in Porto with my dog.", "profile", [("residence", "Porto", True, True)]),
        ("I moved to Lisbon last month.", "profile", [("residence", "Lisbon", True, True)]),
        (
            "I work at Quinta Labs as a data analyst.",
            "profile",
            [("employer", "Quinta Labs", True, True), ("occupation", "data analyst", True, True)],
        ),
        ("I quit my job at Quinta Labs.", "profile", [("employer", "Quinta Labs", True, False)]),
        ("I'm vegetarian, so no meat.", "profile", [("diet", "vegetarian", True, True)]),
        ("I have two kids.", "profile", [("count:kid", "2", True, True)]),
        ("My favorite color is blue.", "preference", [("favorite:color", "blue", True, True)]),
        (
            "I love painting and pottery.",
            "preference",
            [("likes", "painting", False, True), ("likes", "pottery", False, True)],
        ),
        (
            "I don't like hiking anymore.",
            "preference",
            [("likes", "hiking", False, False)],
        ),
        ("I no longer play the violin.", "fact", [("activity", "violin", False, False)]),
        ("I also play the violin on Sundays.", "fact", [("activity", "violin", False, True)]),
        (
            "I'm planning to visit Japan next spring.",
            "plan",
            [("plan", "visit Japan next spring", False, True)],
        ),
        ("I went to a support group yesterday.", "event", []),
    ],
)
def test_claims(sentence: str, kind: str, claims: list[tuple[str, str, bool, bool]]) -> None:
    got_kind, got, correction = analyse_sentence(sentence)
    assert got_kind == kind
    assert [(c.attribute, c.value, c.single, c.positive) for c in got] == claims
    assert correction is None


def test_corrections() -> None:
    _, _, fix = analyse_sentence("Actually it was Tuesday, not Monday.")
    assert (fix.wrong, fix.right) == ("Monday", "Tuesday")  # type: ignore[union-attr]
    _, _, fix = analyse_sentence("Sorry, I meant Rui, not Rio.")
    assert (fix.wrong, fix.right) == ("Rio", "Rui")  # type: ignore[union-attr]


def test_sentence_rules_are_only_skipped_when_they_cannot_match() -> None:
    """Each rule is tried only on sentences holding the words it needs; on every sentence
    of the truth corpus (and a few more for rules it never uses) a rule that matches must
    have passed its gate, and every gated rule is exercised."""
    import json
    from importlib import resources

    from mnemos.nlp import facts
    from mnemos.nlp.sentences import split_sentences

    corpus = json.loads(resources.files("mnemos").joinpath("data/truth_corpus.json").read_text())
    texts = [m["content"] for c in corpus["conversations"] for s in c["sessions"]
             for m in s["messages"]]  # fmt: skip
    texts += [
        "I got the Quinta Labs offer!", "So my new job is at Acme Corp.", "Hi, my name is Ana Silva.",
        "i'm really into pottery.", "I plan to learn to sail.", "I won't go to the party.",
        "I'm not into jazz anymore.", "Golf isn't my thing.", "Our Japan trip is off.",
    ]  # fmt: skip
    sentences = [t[a:b] for t in texts for a, b in split_sentences(t)]
    exercised = set()
    for sentence in sentences:
        text = facts._with_implied_subject(sentence)
        has_i = bool(facts._I_WORD.search(text))
        has_i_any = has_i or bool(facts._I_WORD_ANY_CASE.search(text))
        for index, ((pattern, *_), gate) in enumerate(
            zip(facts._PATTERNS, facts._GATES, strict=True)
        ):
            if pattern.search(text):
                assert facts._may_match(gate, text.lower(), has_i, has_i_any), (sentence, gate)
                if gate:
                    exercised.add(index)
    gated = {i for i, gate in enumerate(facts._GATES) if gate}
    assert gated - exercised == set()
