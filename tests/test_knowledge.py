"""Memories that stay true: derivation, updates, corrections, duplicates, entities, time."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from mnemos import HYBRID, LEXICAL, AddResult, Memory, MemoryRecord, SearchConfig
from mnemos.embedders.base import Embedder

T1, T2, T3 = "2024-01-08T09:00:00Z", "2024-04-15T09:00:00Z", "2024-06-10T09:00:00Z"


def say(mem: Memory, text: str, at: str, *, who: str = "Ana", session: str = "s1") -> AddResult:
    return mem.add(
        [{"role": "user", "name": who, "content": text}], user_id="ana", session_id=session, at=at
    )


def statements(result: AddResult) -> list[MemoryRecord]:
    return [m for m in result.memories if m.kind != "note"]


def test_statements_name_the_speaker_and_resolve_dates(mem: Memory) -> None:
    result = say(
        mem, "I went to a support group yesterday. It was so powerful.", "2023-05-08T13:56:00Z"
    )
    [stmt] = statements(result)
    assert stmt.text == "Ana went to a support group yesterday. [7 May 2023]"
    assert stmt.kind == "event"
    assert stmt.occurred_at == datetime(2023, 5, 7, tzinfo=UTC)
    assert stmt.attributes["time"]["start"].startswith("2023-05-07")
    note = next(m for m in result.memories if m.kind == "note")
    assert note.attributes["keys"] == ["7 May 2023"]


def test_a_new_value_supersedes_the_old_one(mem: Memory) -> None:
    old = statements(say(mem, "I work at Quinta Labs as a data analyst.", T1))[0]
    new_result = say(mem, "Big news: I got the Tidewater Analytics job!", T2)
    new = statements(new_result)[0]
    superseded = mem.get(old.id)
    assert superseded.status == "superseded"
    assert superseded.superseded_by == new.id
    assert superseded.valid_to == datetime(2024, 4, 15, 9, tzinfo=UTC)
    assert superseded.text == old.text
    events = mem.history(old.id)
    assert [e.event for e in events] == ["ADD", "SUPERSEDE"]
    assert events[1].reason == "employer: Quinta Labs -> Tidewater Analytics"
    assert any(c.event == "SUPERSEDE" and c.memory_id == old.id for c in new_result.changes)
    now = [h.text for h in mem.search("Where does Ana work?", user_id="ana").hits]
    assert not any("Quinta" in t for t in now)
    assert any("Tidewater" in t for t in now)
    then = mem.search("Where does Ana work?", user_id="ana", at="2024-02-01").hits
    assert any("Quinta" in h.text for h in then)
    assert not any("Tidewater" in h.text for h in then)


def profile(mem: Memory, key: str, user: str = "ana") -> dict[str, list[str]]:
    [entity] = [e for e in mem.entities.search(key, user_id=user).items if e.key == key]
    return entity.attributes


def test_what_an_outdated_memory_said_that_is_still_true_stays_current(mem: Memory) -> None:
    first = say(mem, "I live in Berlin and work at Siemens as an engineer.", T1)
    [old] = [m for m in statements(first) if m.attributes.get("claims")]
    moved = say(mem, "I moved to Munich.", T2)
    assert mem.get(old.id).status == "superseded"
    [carried] = [m for m in moved.memories if m.attributes.get("carried_from") == old.id]
    assert carried.text == "Ana works at Siemens. Ana's occupation: engineer."
    assert carried.status == "active"
    assert carried.valid_from == old.valid_from  # true since it was said
    assert carried.episode_ids == old.episode_ids  # and it cites where
    assert profile(mem, "ana") == {
        "residence": ["Munich"],
        "employer": ["Siemens"],
        "occupation": ["engineer"],
    }
    [added] = mem.history(carried.id)
    assert added.event == "ADD"
    assert old.id in (added.reason or "")
    hits = mem.search("Where does Ana work?", user_id="ana", limit=3).hits
    assert hits[0].id == carried.id


def test_a_new_employer_leaves_the_old_role_unknown_and_quitting_does_not(
    mem: Memory, tmp_path: Path
) -> None:
    say(mem, "I work at Quinta Labs as a data analyst.", T1)
    say(mem, "Big news: I got a new job at Tidewater Analytics!", T2)
    assert profile(mem, "ana") == {"employer": ["Tidewater Analytics"]}
    with Memory(tmp_path / "quit.db", embedder="hash") as other:
        say(other, "I work at Quinta Labs as a data analyst.", T1)
        say(other, "I quit Quinta Labs last week.", T2)
        assert profile(other, "ana") == {"occupation": ["data analyst"]}


def test_the_note_of_an_outdated_message_is_retired_with_it(mem: Memory) -> None:
    first = say(mem, "I live in Porto.", T1)
    say(mem, "I moved to Lisbon last month.", T2)
    note = next(m for m in first.memories if m.kind == "note")
    assert mem.get(note.id).status == "superseded"
    hits = mem.search("Where does Ana live?", user_id="ana").hits
    assert [h.text for h in hits if "Porto" in h.text] == []


def test_negation_ends_a_claim(mem: Memory) -> None:
    plays = statements(say(mem, "I play the violin every weekend.", T1))[0]
    say(mem, "I no longer play the violin.", T2)
    assert mem.get(plays.id).status == "superseded"
    assert mem.history(plays.id)[-1].reason == "activity: no longer violin"


@pytest.mark.parametrize(
    ("first", "then"),
    [
        ("I want to give something back to my community.", "I won't give up on it."),
        ("I'm planning to go hiking in the Alps.", "I won't go to the gym."),
    ],
)
def test_values_that_share_only_a_light_verb_do_not_end_each_other(
    mem: Memory, first: str, then: str
) -> None:
    plan = statements(say(mem, first, T1))[0]
    say(mem, then, T2)
    assert mem.get(plan.id).status == "active"
    assert [e.event for e in mem.history(plan.id)] == ["ADD"]


def test_correction_replaces_the_wrong_value(mem: Memory) -> None:
    wrong = statements(
        say(mem, "My dentist appointment is on Monday the 12th, I plan to go early.", T1)
    )[0]
    result = say(mem, "Actually it is Tuesday, not Monday.", T1)
    assert mem.get(wrong.id).status == "superseded"
    fixed = mem.get(mem.get(wrong.id).superseded_by or "")
    assert "Tuesday" in fixed.text
    assert "Monday" not in fixed.text
    assert set(wrong.episode_ids) < set(fixed.episode_ids)
    assert mem.history(wrong.id)[-1].reason == "correction: Monday -> Tuesday"
    assert any(c.event == "ADD" and c.memory_id == fixed.id for c in result.changes)


def test_duplicates_merge_into_one_memory_with_all_evidence(mem: Memory) -> None:
    first = statements(say(mem, "I love hiking in the mountains.", T1))[0]
    again = say(mem, "I love hiking in the mountains.", T2, session="s2")
    assert statements(again) == []
    merged = mem.get(first.id)
    assert len(merged.episode_ids) == 2
    assert mem.history(first.id)[-1].event == "MERGE"
    assert mem.history(first.id)[-1].reason == "duplicate: same text"
    near = say(mem, "I love hiking in the mountains!!", T3, session="s3")
    assert statements(near) == []
    assert len(mem.get(first.id).episode_ids) == 3


def test_entities_hold_current_values_and_aliases(mem: Memory) -> None:
    say(mem, "Hey Ana, Melanie here! How are you?", T1, who="Melanie")
    say(mem, "I live in Porto with my dog.", T1)
    say(mem, "I moved to Lisbon last month.", T2)
    say(mem, "Mel and I love pottery.", T2, who="Ana")
    page = mem.entities.list(user_id="ana", kind="person")
    names = {e.name: e for e in page.items}
    assert "Ana" in names
    ana = mem.entities.get(names["Ana"].id)
    assert ana.attributes["residence"] == ["Lisbon"]
    assert "pottery" in ana.attributes["likes"]
    history = mem.entities.history(ana.id)
    assert {m.status for m in history} == {"active", "superseded"}
    [melanie] = [e for e in mem.entities.search("mel", user_id="ana").items if e.kind == "person"]
    assert melanie.name == "Melanie"
    assert melanie.aliases == ["Mel"]


def test_time_bounded_questions_find_what_happened_then(mem: Memory) -> None:
    say(mem, "I went to a pottery workshop yesterday.", "2023-07-16T10:00:00Z")
    say(mem, "I went to a pottery fair yesterday.", "2023-09-02T10:00:00Z")
    hits = mem.search("What did Ana do in July 2023?", user_id="ana").hits
    assert "workshop" in hits[0].text
    assert hits[0].ranks.get("time") == 1


def test_a_day_asked_about_ranks_its_turns_by_the_query_words(mem: Memory) -> None:
    day = "2023-06-03T10:00:00Z"
    for text in ["Morning! How was the week?", "The weather here is grand."]:
        say(mem, text, day, who="Maria")
    say(mem, "I just started volunteering at a dog shelter.", day, who="Maria")
    say(mem, "Talk soon!", day, who="Maria")
    say(mem, "I started a pottery class.", "2023-05-01T10:00:00Z", who="Maria", session="s0")
    question = "Where did Maria volunteer on 3 June, 2023?"
    time_only = LEXICAL.model_copy(update={"weights": {"bm25": 1e-9, "time": 1.0}})
    hits = mem.search(question, user_id="ana", config=time_only, limit=5).hits
    assert "volunteering" in hits[0].text
    assert hits[0].ranks["time"] == 1


def test_a_day_named_in_the_question_outranks_its_words_said_another_day(mem: Memory) -> None:
    say(mem, "I love to cook pasta with friends.", "2022-06-01T10:00:00Z", session="s0")
    say(mem, "Cooking for my family tonight, my favourite thing to cook!", "2022-07-01T10:00:00Z")
    say(mem, "Tried a coconut ice cream recipe, so creamy.", "2022-11-09T10:00:00Z", session="s2")
    say(mem, "The tournament got pushed back.", "2022-11-09T10:01:00Z", session="s2")
    hits = mem.search("What did Ana cook on 9 November, 2022?", user_id="ana", limit=3).hits
    # The day says where the answer is more surely than "cook" does: it was said elsewhere.
    assert "ice cream" in hits[0].text
    assert "bm25" not in hits[0].ranks
    hits = mem.search("What did Ana cook in 2022?", user_id="ana", limit=3).hits
    assert "cook" in hits[0].text.lower()  # a year says little about where


def _answer_channel_lifts(
    mem: Memory, others: list[tuple[str, str]], answer: str, question: str
) -> None:
    """Said on one day after ``others`` (text, speaker), ``answer`` takes the answer
    channel's first rank for ``question`` and ranks higher than without that channel."""
    day = "2023-03-01T10:00:00Z"
    for text, who in others:
        say(mem, text, day, who=who)
    say(mem, answer, day)

    def place(config: SearchConfig) -> int:
        hits = mem.search(question, user_id="ana", limit=4, config=config).hits
        return [h.text for h in hits].index(answer)

    hits = mem.search(question, user_id="ana", limit=4).hits
    assert [h.ranks.get("answer") for h in hits if h.text == answer] == [1]
    plain = HYBRID.model_copy(
        update={"weights": {c: w for c, w in HYBRID.weights.items() if c != "answer"}}
    )
    assert place(HYBRID) < place(plain)


def test_how_long_lifts_the_turn_that_says_how_long(mem: Memory) -> None:
    # It says how long, and shares no word with the question but "had": without the
    # answer channel a turn that only names Biscuit comes before it.
    _answer_channel_lifts(
        mem,
        [
            ("My cat Biscuit is the best cat, such a cat person!", "Ana"),
            ("Biscuit the cat hates baths.", "Ana"),
            ("Does Biscuit like the new flat?", "Bo"),
        ],
        "I've had her for six years and she still surprises me.",
        "How long has Ana had her cat Biscuit?",
    )


def test_asking_for_advice_lifts_the_turn_that_gives_it(mem: Memory) -> None:
    # It gives advice without saying "advice" or "adoption": without the answer channel,
    # turns that repeat the question's words come first.
    _answer_channel_lifts(
        mem,
        [
            ("Adoption has been on my mind all week, adoption day and night.", "Ana"),
            ("I read three books about adoption and started a new one.", "Ana"),
            ("Any ideas for getting started with adoption?", "Bo"),
        ],
        "Do your research first, and make sure the agency fits you.",
        "What advice does Ana give for getting started with adoption?",
    )


def test_a_current_value_asked_after_comes_before_word_matches(mem: Memory) -> None:
    say(mem, "Morning! How are you doing now?", "2024-01-08T09:00:00Z", who="Mnemo")
    say(mem, "Right now I do about 5 km twice a week.", "2024-01-08T09:01:00Z")
    say(mem, "I work at Quinta Labs as a data analyst.", "2024-01-08T09:02:00Z")
    say(mem, "I got the Tidewater job! I start in June.", "2024-04-15T09:00:00Z", session="s2")
    say(mem, "Now that it's spring, the runs are lovely.", "2024-04-15T09:01:00Z", session="s2")
    hits = mem.search("Where does Ana work now?", user_id="ana", limit=3).hits
    assert hits[0].text == "I got the Tidewater job! I start in June."
    assert hits[0].ranks["profile"] == 1
    assert "bm25" not in hits[0].ranks  # no word of the question in it


def test_notes_in_the_third_person_update_what_is_known(mem: Memory) -> None:
    # As an agent notes what it learnt of its user, under the user's name.
    first = say(mem, "Ana works at Quinta Labs as a data analyst.", T1)
    [before] = [m for m in statements(first) if m.attributes.get("claims")]
    assert before.attributes["claims"][0]["attribute"] == "employer"
    say(mem, "Ana now works at Tidewater.", T2, session="s2")
    assert mem.get(before.id).status == "superseded"
    current = mem.entities.search("ana", user_id="ana").items[0]
    assert current.attributes["employer"] == ["Tidewater"]


def test_notes_about_the_user_update_what_is_known(mem: Memory) -> None:
    def note(text: str, at: str) -> AddResult:
        return mem.add([{"role": "user", "content": text}], user_id="u1", at=at)

    first = note("The user lives in Madrid.", T1)
    [before] = [m for m in statements(first) if m.attributes.get("claims")]
    assert before.attributes["claims"][0]["value"] == "Madrid"
    note("User moved to Porto.", T2)
    assert mem.get(before.id).status == "superseded"
    note("The assistant lives in the cloud.", T3)  # not the user: no claim
    current = [m for m in mem.get_all(user_id="u1").items if m.attributes.get("claims")]
    assert [m.attributes["claims"][0]["value"] for m in current] == ["Porto"]


def test_claims_about_someone_else_are_theirs_and_update(mem: Memory) -> None:
    first = say(mem, "My sister Clara lives in Sintra and she's a nurse.", T1)
    [before] = [m for m in statements(first) if m.attributes.get("claims")]
    claims = {(c["subject"], c["attribute"], c["value"]) for c in before.attributes["claims"]}
    assert claims == {("clara", "residence", "Sintra"), ("clara", "occupation", "nurse")}
    say(mem, "I live in Porto.", T1)
    say(mem, "Clara moved to Lisbon.", T2, session="s2")
    assert mem.get(before.id).status == "superseded"
    [clara] = [e for e in mem.entities.search("clara", user_id="ana").items if e.key == "clara"]
    assert clara.attributes["residence"] == ["Lisbon"]
    [ana] = [e for e in mem.entities.search("ana", user_id="ana").items if e.key == "ana"]
    assert ana.attributes["residence"] == ["Porto"]  # Ana's own claim stands


def test_someone_is_found_by_who_they_are_to_the_user(mem: Memory) -> None:
    say(mem, "Big news: my sister Clara got engaged last Saturday!", T1)
    say(mem, "Clara moved to Lisbon.", T2, session="s2")
    for i in range(12):
        say(mem, f"Remark {i}: the trains were late again and it rained.", T2, session=f"x{i}")
    [clara] = [e for e in mem.entities.search("clara", user_id="ana").items if e.key == "clara"]
    assert "ana's sister" in clara.aliases
    for question in ("Where does my sister live?", "Where does Ana's sister live now?"):
        hits = mem.search(question, user_id="ana", limit=3).hits
        assert hits[0].text == "Clara moved to Lisbon.", question
        assert hits[0].ranks["profile"] == 1


def test_my_relation_is_the_users_when_their_messages_carry_no_name(mem: Memory) -> None:
    def note(text: str, at: str, session: str = "s1") -> AddResult:
        return mem.add([{"role": "user", "content": text}], user_id="u1", session_id=session, at=at)

    note("My sister Clara got engaged last Saturday!", T1)
    note("Clara moved to Lisbon.", T2, "s2")
    for i in range(12):
        note(f"Remark {i}: the trains were late again and it rained.", T2, f"x{i}")
    [clara] = [e for e in mem.entities.search("clara", user_id="u1").items if e.key == "clara"]
    assert "user's sister" in clara.aliases
    hits = mem.search("Where does my sister live?", user_id="u1", limit=3).hits
    assert hits[0].text == "Clara moved to Lisbon."
    assert hits[0].ranks["profile"] == 1


def test_asking_who_finds_the_attribute_of_anyone(mem: Memory) -> None:
    say(mem, "Big news: my sister Clara got engaged last Saturday!", T1)
    for i in range(12):
        say(mem, f"Remark {i}: the trains were late again and it rained.", T1, session=f"x{i}")
    hits = mem.search("Who is getting married?", user_id="ana", limit=3).hits
    assert hits[0].text.startswith("Big news: my sister Clara got engaged")
    assert hits[0].ranks["profile"] == 1
    assert "bm25" not in hits[0].ranks  # no word of the question in it


def test_the_graph_finds_evidence_that_shares_no_words_with_the_query(
    tmp_path: Path,
) -> None:
    with Memory(tmp_path / "g.db", embedder="hash") as mem:
        say(mem, "My sister Clara lives in Sintra.", T1)
        say(mem, "Clara teaches piano at the conservatory.", T2, session="s2")
        for i in range(30):
            say(
                mem,
                f"Unrelated remark number {i} about the weather and trains.",
                T2,
                session=f"x{i}",
            )
        question = "What does the sister do for work?"
        plain = mem.search(question, user_id="ana", config=LEXICAL).hits
        assert not any("piano" in h.text for h in plain)
        graph_only = LEXICAL.model_copy(update={"weights": {"graph": 1.0}})
        hits = mem.search(question, user_id="ana", config=graph_only, limit=3).hits
        assert any("piano" in h.text for h in hits)
        assert "graph" in hits[0].ranks


def test_hits_are_notes_with_matches_and_context(mem: Memory) -> None:
    for i, text in enumerate(
        ["How was your weekend?", "I adopted a puppy named Biscuit!", "Aww, congrats!"]
    ):
        mem.add(
            [{"role": "user", "name": ["Bo", "Ana", "Bo"][i], "content": text}],
            user_id="ana",
            session_id="s1",
            at=T1,
        )
    hit = mem.search("puppy Biscuit", user_id="ana").hits[0]
    assert hit.kind == "note"
    assert hit.text == "I adopted a puppy named Biscuit!"
    assert [e.text for e in hit.context] == ["How was your weekend?", "Aww, congrats!"]
    assert hit.id in hit.matched or len(hit.matched) >= 1


def test_a_reply_is_found_by_the_question_it_answers(mem: Memory) -> None:
    # The same words before two replies, once asked and once told: the words of a question
    # weigh more, so the longer reply (which BM25 would otherwise rank lower) comes first.
    turns = [
        ("Bo", "You go rock climbing with your cousins."),
        ("Ana", "Yes, most weekends."),
        ("Bo", "You go rock climbing with your cousins?"),
        ("Ana", "Yes, most Sundays in spring."),
    ]
    for who, text in turns:
        say(mem, text, T1, who=who)
    hits = mem.search("rock climbing cousins", user_id="ana", config=LEXICAL, limit=10).hits
    order = [h.text for h in hits]
    assert order.index("Yes, most Sundays in spring.") < order.index("Yes, most weekends.")


def test_a_hit_that_repeats_context_comes_after_hits_that_say_something_new(
    mem: Memory,
) -> None:
    chat = [
        ("s1", "Bo", "Morning!"),
        ("s1", "Ana", "Biscuit the beagle chased a squirrel up the old oak tree today."),
        ("s1", "Bo", "Biscuit the beagle is fast."),
        ("s1", "Ana", "He really is."),
        ("s2", "Ana", "Biscuit had a checkup at the vet."),
    ]
    for session, who, text in chat:
        say(mem, text, T1, who=who, session=session)
    first, repeat, new = chat[1][2], chat[2][2], chat[4][2]

    def order(mode: str, budget: int | None) -> list[str]:
        cfg = LEXICAL.model_copy(update={"context_window": 2, "repeats_last": mode})
        hits = mem.search(
            "Biscuit beagle squirrel", user_id="ana", config=cfg, limit=3, budget_tokens=budget
        ).hits
        return [h.text for h in hits]

    # The second-best turn came back as the first hit's context: within a budget, the turn
    # from the other session comes before it.
    assert order("budget", 500) == [first, new, repeat]
    assert order("budget", None) == [first, repeat, new]
    assert order("always", None) == [first, new, repeat]
    assert order("never", 500) == [first, repeat, new]
    # A repeat is what is left out when the limit is reached.
    cfg = LEXICAL.model_copy(update={"context_window": 2})
    two = mem.search(
        "Biscuit beagle squirrel", user_id="ana", config=cfg, limit=2, budget_tokens=500
    )
    assert [h.text for h in two.hits] == [first, new]


def test_a_budget_search_stops_after_eight_hits_in_a_row_do_not_fit(mem: Memory) -> None:
    from mnemos.engine.recall import BUDGET_MISFITS

    say(mem, "Kayak on the river at dawn.", T1, session="s0")
    long = " ".join(["We paddled the kayak down the river past the old mill and the bridge."] * 8)
    for i in range(BUDGET_MISFITS):
        say(mem, f"Trip {i}: {long}", T1, session=f"l{i}")
    say(mem, "River again.", T1, session="s9")
    cfg = LEXICAL.model_copy(update={"context_window": 0})

    def texts(budget: int) -> list[str]:
        found = mem.search(
            "kayak river at dawn", user_id="ana", config=cfg, limit=20, budget_tokens=budget
        )
        return [h.text for h in found.hits]

    # The long trips rank between the two short turns and each is too long for what the
    # first leaves of 60 tokens; after eight of them in a row the search stops, so the
    # second short turn, which would fit, is not read.
    everything = texts(5_000)
    assert everything[0] == "Kayak on the river at dawn."
    assert everything[-1] == "River again."
    assert len(everything) == BUDGET_MISFITS + 2
    assert texts(60) == ["Kayak on the river at dawn."]
    # Before the budget holds anything, misfits do not count: asked without "dawn", the
    # trips come first, and the two short turns past them are still found.
    found = mem.search("kayak river", user_id="ana", config=cfg, limit=20, budget_tokens=60)
    assert sorted(h.text for h in found.hits) == ["Kayak on the river at dawn.", "River again."]


def test_context_repeats_no_turn_an_earlier_hit_returned(mem: Memory) -> None:
    turns = [
        ("Bo", "How was your weekend?"),
        ("Ana", "I adopted a puppy named Biscuit!"),
        ("Bo", "Aww, congrats! What breed is the puppy?"),
        ("Ana", "Biscuit is a beagle puppy, very curious."),
        ("Bo", "Beagles are great. Does the puppy sleep well?"),
    ]
    for who, text in turns:
        say(mem, text, T1, who=who)
    hits = mem.search("puppy Biscuit", user_id="ana").hits
    assert len(hits) >= 3
    seen: set[str] = set()
    for hit in hits:
        context = [e.episode_id for e in hit.context]
        assert not seen & set(context), "a context turn was already returned"
        assert len(context) == len(set(context))
        seen.update(e.episode_id for e in [*hit.evidence, *hit.context])
    # Every message is still a hit of its own, even if an earlier hit showed it as context.
    assert {h.text for h in hits} >= {turns[1][1], turns[3][1]}


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("I love painting landscapes.", "preference"),
        ("I'm planning to visit Japan next spring.", "plan"),
        ("I work at Quinta Labs as an analyst.", "profile"),
    ],
)
def test_kinds(mem: Memory, text: str, kind: str) -> None:
    assert [m.kind for m in statements(say(mem, text, T1))] == [kind]


@pytest.mark.parametrize(
    ("said", "attribute", "value", "positive"),
    [
        ("hey, it's me again. moved into a new place in Brooklyn last month", "residence",
         "Brooklyn", True),
        ("We live in Osaka, near the castle.", "residence", "Osaka", True),
        ("I live in Berlin and work at Siemens as an engineer.", "employer", "Siemens", True),
        ("I live in Berlin and work at Siemens as an engineer.", "occupation", "engineer", True),
        ("I left Stripe in August and joined a startup called Loop.", "employer", "Loop", True),
        ("Also no longer vegan, I eat fish again.", "diet", "vegan", False),
        ("I'm not vegetarian anymore.", "diet", "vegetarian", False),
        ("Gave up on Spanish, switched to Italian.", "activity", "Spanish", False),
        ("Gave up on Spanish, switched to Italian.", "activity", "Italian", True),
        ("I'm not going to sell the boat.", "plan", "sell the boat", False),
    ],
)  # fmt: skip
def test_chat_phrasings_make_claims(said: str, attribute: str, value: str, positive: bool) -> None:
    """Dropped subjects, "we", second clauses and switches still say who has what."""
    from mnemos.nlp.facts import analyse_sentence

    _, claims, _ = analyse_sentence(said)
    assert (attribute, value, positive) in {(c.attribute, c.value, c.positive) for c in claims}


def test_a_diet_given_up_is_no_longer_current(mem: Memory) -> None:
    mem.add("I'm vegan these days.", user_id="jo", at="2023-02-02T10:00:00Z")
    mem.add("Also no longer vegan, I eat fish again.", user_id="jo", at="2023-09-15T10:00:00Z")
    current = [h.text for h in mem.search("Is Jo vegan?", user_id="jo").hits]
    assert not any("vegan these days" in t for t in current)
    past = mem.search("Is Jo vegan?", user_id="jo", at="2023-05-01T00:00:00Z").hits
    assert any("vegan these days" in h.text for h in past)


def test_a_near_duplicate_merges_only_when_it_says_nothing_new(
    tmp_path: Path, static_embedder: Embedder
) -> None:
    with Memory(tmp_path / "m.db", embedder=static_embedder) as mem:
        job = "Work has been busy since I became a librarian; we have a big deadline on Friday."
        [first] = statements(say(mem, job, T1))
        # Close embeddings, another job and another day: a memory of its own.
        other = "Work has been busy since I became a teacher; we have a big deadline on Monday."
        [second] = statements(say(mem, other, T1, session="s2"))
        assert second.id != first.id
        assert {m.status for m in (mem.get(first.id), mem.get(second.id))} == {"active"}
        # The first said again in other words: it joins the memory it repeats.
        again = (
            "Work's been so busy since I became a librarian, and we have a big deadline on Friday!"
        )
        assert statements(say(mem, again, T1, session="s3")) == []
        merged = mem.get(first.id)
        assert len(merged.episode_ids) == 2
        assert mem.history(first.id)[-1].reason.startswith("duplicate: says nothing new")
