"""Article validation: a broken article is named with its problem and never indexed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from knowledge.article import ArticleError, ArticleSetError, load_articles, parse_article
from knowledge.index import ARTICLES_DIR
from knowledge.readability import measure, syllables

GOOD = """---
id: {id}
title: Walking a little more
topics: [walking, steps]
conditions: [hypertension]
audience: adults
last_reviewed: 2026-11-22
sources:
  - title: Physical Activity Guidelines for Americans, 2nd edition
    publisher: US Department of Health and Human Services
---
Walking more is one of the easiest ways to move more every day.

## Start small
{filler}

## When to get help
Call 911 if you have chest pain when you walk. Tell your care team if walking makes you dizzy.
"""
FILLER = "Add a short walk after one meal each day and build up slowly over a few weeks. " * 8


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def good(article_id: str = "walking-more") -> str:
    return GOOD.format(id=article_id, filler=FILLER)


def test_good_article_parses(tmp_path: Path) -> None:
    article = parse_article(write(tmp_path, "walking-more.md", good()))
    assert article.id == "walking-more"
    assert article.conditions == ("hypertension",)
    assert article.sources[0].publisher.startswith("US Department")
    assert article.last_reviewed.isoformat() == "2026-11-22"


@pytest.mark.parametrize(("mutate", "problem"), [
    (lambda t: t.replace("---\nid", "id", 1), "no front matter"),
    (lambda t: t.replace("topics: [walking, steps]", "topics: [walking, steps"), "bad front matter"),
    (lambda t: t.split("sources:")[0] + "---" + t.split("publisher: US Department of Health and Human "
                                                          "Services\n---")[1], "lacks sources"),
    (lambda t: t.replace("    publisher: US Department of Health and Human Services\n", ""), "no publisher"),
    (lambda t: t.split("---\n", 2)[0] + "---\n" + t.split("---\n", 2)[1] + "---\n\n", "empty body"),
    (lambda t: t.replace("[hypertension]", "[gout]"), "unknown condition gout"),
    (lambda t: t.replace("2026-11-22", "last week"), "last_reviewed"),
    (lambda t: t.replace("## When to get help", "## Finally"), "When to get help"),
    (lambda t: t.replace("id: walking-more", "id: Walking More"), "lowercase"),
    (lambda t: t.replace("id: walking-more", "id: walking-less"), "file is named"),
])
def test_broken_article_names_the_problem(tmp_path: Path, mutate, problem: str) -> None:  # type: ignore[no-untyped-def]
    path = write(tmp_path, "walking-more.md", mutate(good()))
    with pytest.raises(ArticleError) as err:
        parse_article(path)
    assert "walking-more.md" in str(err.value)
    assert problem in str(err.value)


def test_not_utf8_and_huge_files_are_refused(tmp_path: Path) -> None:
    bad = tmp_path / "binary.md"
    bad.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ArticleError, match="not UTF-8"):
        parse_article(bad)
    huge = write(tmp_path, "huge.md", good("huge") + "x" * 70_000)
    with pytest.raises(ArticleError, match="kB"):
        parse_article(huge)


def test_duplicate_ids_and_every_problem_are_reported_together(tmp_path: Path) -> None:
    write(tmp_path / "a", "walking-more.md", good())
    write(tmp_path / "b", "walking-more.md", good())
    write(tmp_path, "broken.md", "no front matter here")
    with pytest.raises(ArticleSetError) as err:
        load_articles(tmp_path)
    message = str(err.value)
    assert "duplicate id 'walking-more'" in message
    assert "broken.md: no front matter" in message
    assert len(err.value.problems) == 2


def test_shipped_articles_are_valid_and_cover_the_brief() -> None:
    articles = load_articles(ARTICLES_DIR)
    assert len(articles) >= 80
    ids = {a.id for a in articles}
    for needed in ("activity-step-goals", "activity-sitting-less", "falls-prevention-home", "sleep-basics",
                   "salt-cutting-down", "nutrition-fibre", "eating-pattern-dash",
                   "eating-pattern-mediterranean", "hydration", "alcohol-cutting-down", "smoking-quit-plan",
                   "stress-breathing-exercises", "mood-depression-help", "loneliness", "bp-home-measuring",
                   "diabetes-hypo-signs", "diabetes-foot-care", "heart-failure-daily-weights",
                   "copd-breathing-techniques", "copd-flare-signs", "medication-routines",
                   "pain-self-management", "stroke-rehab-home", "surgery-recovery-home", "caregiver-strain",
                   "advance-care-planning", "serious-illness-breathlessness", "talking-with-family"):
        assert needed in ids
    for article in articles:
        assert article.sources, article.id
        assert 150 <= article.words <= 450, (article.id, article.words)
        assert "911" in article.body or "emergency" in article.body.lower(), article.id
        assert measure(article.body).grade <= 8.0, article.id


def test_reading_level_separates_plain_from_dense_text() -> None:
    plain = measure("Walk a bit more each day. Start with five minutes. Add a little each week.")
    dense = measure("Cardiovascular rehabilitation interventions substantially ameliorate "
                    "physiological deconditioning among hospitalized individuals with comorbidities.")
    assert plain.grade < 4 < 12 < dense.grade
    assert syllables("walking") == 2
    assert syllables("zzyzzyva") >= 1  # not in the dictionary: the vowel rule answers


def test_shipped_folder_copy_builds_elsewhere(tmp_path: Path) -> None:
    """The articles travel with the package; a clinic may point to its own copy."""
    dest = tmp_path / "articles"
    shutil.copytree(ARTICLES_DIR, dest)
    assert len(load_articles(dest)) == len(load_articles(ARTICLES_DIR))
