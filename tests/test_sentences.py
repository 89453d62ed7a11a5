from coach.sentences import list_item_sentence, plain, speakable, split_sentences, unnarrated
from knowledge.passages import Unit, units_of


def test_streams_sentences_as_they_complete() -> None:
    pieces = ["Well done", " on the walk! Dr. Smith", " said 1.5 miles is fine.", " How was it", "?"]
    out = list(split_sentences(pieces))
    assert out == ["Well done on the walk!", "Dr. Smith said 1.5 miles is fine.", "How was it?"]


def test_yields_first_sentence_before_the_stream_ends() -> None:
    def pieces():  # type: ignore[no-untyped-def]
        yield "That sounds like a good plan. "
        raise AssertionError("the first sentence should have been yielded already")

    gen = split_sentences(pieces())
    assert next(gen) == "That sounds like a good plan."


def test_short_fragments_and_lists() -> None:
    assert list(split_sentences(["Ok. Let's", " try a walk."])) == ["Ok. Let's try a walk."]
    assert list(split_sentences(["1. Walk.\n\n2. Rest."])) == ["1. Walk.", "2. Rest."]
    assert list(split_sentences(["Plan:\nMonday: walk\nTuesday: rest"])) == [
        "Plan:", "Monday: walk", "Tuesday: rest"]


def test_plain_drops_markdown() -> None:
    assert plain("1. **Warm up**: stretch first.") == "Warm up: stretch first."
    assert plain("## Plan") == "Plan"
    assert plain("- Walk `daily`") == "Walk daily"
    assert plain("Walk 1.5 miles - slowly.") == "Walk 1.5 miles - slowly."


def test_speakable_drops_list_lead_ins_and_colons_but_keeps_clock_times() -> None:
    assert speakable("Follow these steps: Get a good home monitor with these features: "
                     "The cuff fits your arm.") == "Get a good home monitor. The cuff fits your arm."
    assert speakable("A drink is: 5 ounces of wine [1].") == "A drink is 5 ounces of wine [1]."
    assert speakable("Before you measure, do not: drink coffee.") == (
        "Before you measure, do not drink coffee.")
    assert speakable("Take it at 7:30 each morning.") == "Take it at 7:30 each morning."
    assert ":" not in speakable("Two things help: rest and fluids.")


def test_a_lead_in_cut_from_its_list_is_not_spoken() -> None:
    # seen from the 1.5B model on the coaching bench: "You should call your care team if."
    assert speakable("You should call your care team if:") == ""
    assert speakable("Good habits help:") == "Good habits help."
    # seen in `make demo`: "use a good home monitor that. The cuff fits your arm."
    assert speakable("At home, use a good home monitor that has these features: The cuff fits "
                     "your arm.") == "At home, use a good home monitor. The cuff fits your arm."


def test_a_passage_splits_into_sentences_and_items_that_keep_their_lead_in() -> None:
    text = ("Salt hides in bread. Common high-sodium foods:\n- Chips, crisps, and salted nuts\n"
            "- Canned soups\n\nTaste food first. Try these:\n- Wall push-ups: Stand facing a wall.")
    assert units_of(text) == [
        Unit("Salt hides in bread."),
        Unit("Chips, crisps, and salted nuts", "Common high-sodium foods:", 0),
        Unit("Canned soups", "Common high-sodium foods:", 0),
        Unit("Taste food first."),
        Unit("Wall push-ups: Stand facing a wall.", "Try these:", 1),
    ]
    assert units_of(text)[1].in_context == "Common high-sodium foods: Chips, crisps, and salted nuts"


def test_list_items_are_said_as_one_sentence_with_their_lead_in() -> None:
    # A bare noun phrase takes "include"; a lead-in that runs on joins its items directly.
    foods = ["Chips, crisps, and salted nuts", "Canned soups"]
    assert (list_item_sentence("Common high-sodium foods:", foods)
            == "Common high-sodium foods include chips, crisps, and salted nuts; and canned soups.")
    assert (list_item_sentence("Call your care team if you have:", ["Joint pain that lasts", "New swelling"])
            == "Call your care team if you have joint pain that lasts or new swelling.")
    assert (list_item_sentence("One standard drink is:", ["12 ounces of beer"])
            == "One standard drink is 12 ounces of beer.")
    # Items that are sentences of their own need no lead-in ...
    assert (list_item_sentence("To cut back:", ["Taste food before you add salt."])
            == "Taste food before you add salt.")
    # ... a fragment under a lead-in with a verb is an example of it; acronyms keep their case.
    assert (list_item_sentence("The ADA gives these targets for many adults:", ["A1C below 7%"])
            == "The ADA gives these targets for many adults, for example A1C below 7%.")
    assert list_item_sentence("For example:", ["walk after lunch"]) == "For example, walk after lunch."
    assert list_item_sentence("Anything:", ["  ", "."]) == ""


def test_narration_of_the_instructions_is_not_spoken() -> None:
    assert (unnarrated("Reflecting back, you've been testing every morning.")
            == "You've been testing every morning.")
    assert unnarrated("Reflecting on their goals and what they told you before, you might say "
                      "something like \"You've made progress.") == ""
    assert unnarrated("You've told me your goals, Rosa.") == "You've told me your goals, Rosa."
