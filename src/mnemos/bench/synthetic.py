"""A deterministic generator of everyday two-person chat, for the speed benchmark.

Two friends talk across dated sessions about family, pets, trips, work, food, hobbies and
plans. Turns are drawn from varied templates and vocabularies (people, places,
activities, dates, numbers), so almost every text is unique, as real turns are, and the
content-hash cache of the embedder cannot flatter ingestion. The same seed always yields
the same conversation, and questions about it in the form an agent would ask them.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice

__all__ = ["ConversationGenerator", "SyntheticTurn"]


def _words(text: str) -> list[str]:
    return text.split()


NAMES = _words("""Ana Ben Chloe Daniel Elena Farid Grace Hugo Isla Jonas Keiko Liam Maya Noah Olga
Pablo Quinn Rosa Samir Tara Umar Vera Wen Ximena Yusuf Zoe Aiden Bea Carlos Dana Emil Fatima
Gabe Hana Ivan Jade Kofi Lena Marco Nadia Oscar Priya Raj Sofia Tom Uma Victor Willa Yara
Zain Amara Bruno Celine Diego Esme Finn Gita Hector Ines Jamal""")
_PLACES = """Lisbon Kyoto Denver Oaxaca Edinburgh Nairobi Montreal Hanoi Porto Seville Tbilisi
Reykjavik Melbourne Cusco Marrakech Bergen Austin Ljubljana Valparaiso Krakow Bologna Tucson
Halifax Da_Nang Zanzibar Galway Budapest Santa_Fe Tallinn Queenstown Cape_Town Osaka Boulder
Split Antigua Chiang_Mai Quebec_City Bruges Asheville Dubrovnik"""
PLACES = [p.replace("_", " ") for p in _PLACES.split()]
SPOTS = [
    "the farmers market", "the climbing gym", "the old harbour", "the botanical garden",
    "the night market", "a tiny jazz bar", "the lake trail", "the science museum",
    "a ramen place", "the community garden", "the public library", "the dog park",
    "a pottery studio", "the ice rink", "the flea market", "a rooftop cafe",
]  # fmt: skip
ACTIVITIES = [
    "hiking", "rock climbing", "pottery", "baking sourdough", "kayaking", "salsa dancing",
    "birdwatching", "trail running", "painting watercolours", "learning the cello",
    "surfing", "knitting a sweater", "playing chess", "camping", "restoring a bike",
    "gardening", "ice skating", "writing short stories", "yoga", "photography",
    "learning Portuguese", "making candles", "volunteering at the shelter", "fishing",
    "building a bookshelf", "playing in a band", "swimming laps", "cross-country skiing",
    "brewing kombucha", "sketching buildings", "scuba diving", "making pasta by hand",
]  # fmt: skip
RELATIVES = [
    "sister", "brother", "mom", "dad", "grandma", "grandpa", "cousin", "aunt", "uncle",
    "best friend", "roommate", "neighbour", "coworker", "partner", "niece", "nephew",
]  # fmt: skip
PETS = ["puppy", "kitten", "rabbit", "parrot", "tortoise", "hamster", "golden retriever",
        "tabby cat", "beagle", "goldfish", "corgi", "hedgehog"]  # fmt: skip
PET_NAMES = _words("""Miso Pepper Biscuit Luna Mango Olive Ziggy Nala Pickles Waffles Juniper Tofu
Clover Maple Bean Rocket Sushi Poppy Ginger Pretzel""")
JOBS = [
    "nurse", "software engineer", "teacher", "carpenter", "graphic designer", "chef",
    "accountant", "physiotherapist", "journalist", "architect", "pharmacist", "pilot",
    "social worker", "electrician", "data analyst", "veterinarian", "librarian",
]  # fmt: skip
FOODS = [
    "a spicy lentil soup", "homemade dumplings", "paella", "banana bread", "tacos al pastor",
    "a mushroom risotto", "pad thai", "lemon tart", "shakshuka", "a vegetable curry",
    "apple pie", "sushi rolls", "pierogi", "jollof rice", "a peach cobbler", "falafel wraps",
]  # fmt: skip
FEELINGS = ["excited", "nervous", "exhausted", "proud", "relieved", "thrilled", "a bit anxious",
            "grateful", "overwhelmed", "so happy", "curious", "homesick"]  # fmt: skip
WHEN = [
    "yesterday", "last weekend", "this morning", "on Saturday", "last Tuesday",
    "two weeks ago", "last month", "over the holidays", "a few days ago", "on Friday night",
    "last summer", "earlier this week",
]  # fmt: skip
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]  # fmt: skip
ADJECTIVES = ["Silent", "Golden", "Hidden", "Last", "Broken", "Wandering", "Paper", "Winter",
              "Salt", "Glass", "Midnight", "Little"]  # fmt: skip
NOUNS = ["Orchard", "River", "Lighthouse", "Garden", "Map", "Island", "Kingdom", "Letters",
         "Fox", "Harbour", "Compass", "Season"]  # fmt: skip
EVENTS = ["a birthday dinner", "a wedding", "a housewarming party", "a concert", "a book club",
          "a charity run", "a board game night", "an art opening", "a street festival"]  # fmt: skip

STATEMENTS = [
    "I went {activity} with my {relative} {when} near {place}, and I'm {feeling} about going back.",
    "{When}, I finally tried {activity} for the first time and I was {feeling}.",
    "My {relative} {name} just moved to {place} to start a new job as {a_job} in {month}.",
    "We adopted a {pet} named {pet_name} {when}! It already sleeps on my bed.",
    "I've been reading '{title}' and I can't put it down; it's set in {place}.",
    "Do you remember that place near {spot} in {place}? We should go back on {weekday}.",
    "I signed up for a {activity} class that starts on {month} {day}.",
    "{name} invited me to {event} in {place} on {month} {day}.",
    "I ran {km} km this morning before work and beat my time by {minutes} minutes.",
    "Work has been busy since I became {a_job}; we have a big deadline on {weekday}, "
    "{month} {day}.",
    "I cooked {food} for {count} friends on {weekday} night and nothing was left.",
    "My {relative} and I spent {when} at {spot}, it was lovely.",
    "I'm saving up for a trip to {place} with my {relative} in {month}; I want to try "
    "{activity} there.",
    "{pet_name}, our {pet}, got sick {when}, so I spent the evening at the vet.",
    "I started {activity} every {weekday} at {spot} with {name} from work.",
    "We finally booked the flights to {place} for {month} {day}, {count} of us are going.",
    "I found an old photo of my {relative} in {place} from {year}.",
    "I've been feeling {feeling} lately because my {relative} is having surgery on {weekday}.",
    "I sold {count} paintings of {place} at {spot} {when}!",
    "My {relative} taught me how to make {food} {when}, just like in {place}.",
]  # fmt: skip
REPLIES = [
    "That sounds amazing, how did {activity} go?",
    "Wow, I'd love to visit {place} someday.",
    "Tell me more about {name}!",
    "How is your {relative} doing?",
    "That's wonderful news, congratulations!",
    "Send me photos, please.",
    "I remember you mentioned {place} before.",
    "How long have you been into {activity}?",
    "You must be {feeling}.",
    "Let's celebrate with {food} when you're back.",
    "I'm so proud of you.",
    "Is {pet_name} doing better now?",
]  # fmt: skip
QUESTIONS = [
    "What did {speaker} do with their {relative} near {place}?",
    "Where did {speaker}'s {relative} move for a new job?",
    "What is the name of {speaker}'s {pet}?",
    "When does {speaker}'s {activity} class start?",
    "How far did {speaker} run before work?",
    "What did {speaker} cook for friends?",
    "Who invited {speaker} to {event}?",
    "Which book is {speaker} reading?",
    "What job does {speaker}'s {relative} have in {place}?",
    "When is {speaker} travelling to {place}?",
    "Why was {speaker} feeling {feeling}?",
    "What did {speaker}'s {relative} teach them to make?",
    "Where did {speaker} go {activity}?",
    "What happened to {pet_name} at the vet?",
    "How many paintings did {speaker} sell?",
]  # fmt: skip


@dataclass(frozen=True, slots=True)
class SyntheticTurn:
    """One generated turn."""

    speaker: str
    text: str
    at: datetime
    session: int


class ConversationGenerator:
    """An endless, reproducible chat between two people, in dated sessions.

    Args:
        seed: The same seed yields the same speakers, turns and questions.
    """

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        rng = random.Random(seed)
        self.speakers = tuple(rng.sample(NAMES, 2))

    def _fill(self, rng: random.Random, template: str, speaker: str) -> str:
        values = {
            "activity": rng.choice(ACTIVITIES),
            "relative": rng.choice(RELATIVES),
            "when": rng.choice(WHEN),
            "place": rng.choice(PLACES),
            "spot": rng.choice(SPOTS),
            "feeling": rng.choice(FEELINGS),
            "name": rng.choice(NAMES),
            "job": rng.choice(JOBS),
            "pet": rng.choice(PETS),
            "pet_name": rng.choice(PET_NAMES),
            "title": f"The {rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}",
            "weekday": rng.choice(WEEKDAYS),
            "month": rng.choice(MONTHS),
            "day": rng.randint(1, 28),
            "event": rng.choice(EVENTS),
            "km": rng.randint(3, 42),
            "minutes": rng.randint(1, 12),
            "food": rng.choice(FOODS),
            "count": rng.randint(2, 14),
            "year": rng.randint(1978, 2021),
            "speaker": speaker,
        }
        values["When"] = str(values["when"]).capitalize()
        job = str(values["job"])
        values["a_job"] = f"{'an' if job[0] in 'aeiou' else 'a'} {job}"
        return template.format(**values)

    def iter_turns(self) -> Iterator[SyntheticTurn]:
        """Turns in order, forever: sessions of 6 to 30 turns, one to six days apart."""
        rng = random.Random(self.seed * 7919 + 1)
        at = datetime(2022, 1, 3, 9, 0, tzinfo=UTC)
        session = 0
        while True:
            session += 1
            at += timedelta(days=rng.randint(1, 6), minutes=rng.randint(0, 600))
            for i in range(rng.randint(6, 30)):
                speaker = self.speakers[i % 2]
                text = self._fill(rng, rng.choice(STATEMENTS), speaker)
                if rng.random() < 0.6:
                    text += " " + self._fill(rng, rng.choice(REPLIES), speaker)
                yield SyntheticTurn(speaker, text, at + timedelta(seconds=40 * i), session)

    def turns(self, n: int) -> list[SyntheticTurn]:
        """The first ``n`` turns."""
        return list(islice(self.iter_turns(), n))

    def questions(self, n: int) -> list[str]:
        """``n`` questions about the conversation, as an agent would ask them."""
        rng = random.Random(self.seed * 7919 + 2)
        return [self._fill(rng, rng.choice(QUESTIONS), rng.choice(self.speakers)) for _ in range(n)]
