"""Recall that depends on meaning, with the real default embedder."""

from __future__ import annotations

from mnemos import SEMANTIC, Memory

FACTS = [
    "I adopted a beagle puppy from the shelter",
    "My sister is getting married in Sintra in September",
    "I started a new job as a data analyst at Tidewater",
    "I have been learning to play the cello",
    "We went camping by the lake last summer",
]


def test_paraphrases_find_their_memory(semantic_mem: Memory) -> None:
    semantic_mem.add(FACTS, user_id="ana")
    cases = {
        "What pet does she have?": FACTS[0],
        "Who is having a wedding?": FACTS[1],
        "Where does she work?": FACTS[2],
        "Which musical instrument is she practising?": FACTS[3],
    }
    for question, expected in cases.items():
        top = semantic_mem.search(question, user_id="ana", limit=1, config=SEMANTIC).hits[0]
        assert top.text == expected, question
        assert top.scores["vector"] > 0.2


def test_hybrid_ranks_the_right_memory_first(semantic_mem: Memory) -> None:
    semantic_mem.add(FACTS, user_id="ana")
    top = semantic_mem.search("tell me about the dog", user_id="ana", limit=3).hits[0]
    assert top.text == FACTS[0]


def test_the_same_text_is_never_embedded_twice(semantic_mem: Memory, minilm) -> None:  # type: ignore[no-untyped-def]
    before = minilm.texts_embedded
    semantic_mem.add("a sentence that is stored twice", user_id="a")
    semantic_mem.add("a sentence that is stored twice", user_id="b")
    semantic_mem.search("another query", user_id="a")
    semantic_mem.search("another query", user_id="a")
    assert minilm.texts_embedded - before == 2


def test_the_static_default_embedder_finds_meaning(tmp_path, static_embedder) -> None:  # type: ignore[no-untyped-def]
    with Memory(tmp_path / "static.db", embedder=static_embedder) as mem:
        mem.add(FACTS, user_id="ana")
        top = mem.search(
            "Which musical instrument is she practising?", user_id="ana", limit=1, config=SEMANTIC
        ).hits[0]
        assert top.text == FACTS[3]
        assert static_embedder.dimension == 256
