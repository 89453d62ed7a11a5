from coach.sentences import plain, speakable, split_sentences


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
