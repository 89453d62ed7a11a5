"""Index building and hybrid retrieval over the real articles and the real MiniLM embedder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from knowledge.article import ArticleSetError
from knowledge.embeddings import Embedder
from knowledge.index import ARTICLES_DIR, KnowledgeIndexError, articles_changed, build_index, open_index
from knowledge.retriever import HybridRetriever, QueryError, check_query

pytestmark = pytest.mark.slow
EMBEDDER = "minilm-l6"


def small_folder(tmp_path: Path, ids: tuple[str, ...]) -> Path:
    folder = tmp_path / "articles"
    folder.mkdir()
    for article_id in ids:
        shutil.copy(ARTICLES_DIR / f"{article_id}.md", folder)
    return folder


def test_incremental_build_embeds_only_what_changed(tmp_path: Path, embedder: Embedder) -> None:
    folder = small_folder(tmp_path, ("sleep-basics", "hydration"))
    index = tmp_path / "index.sqlite"
    first = build_index(index, embedder, EMBEDDER, folder)
    assert first.articles == 2 and first.embedded == first.passages > 4
    assert not articles_changed(index, folder)
    again = build_index(index, embedder, EMBEDDER, folder)
    assert again.embedded == 0 and again.removed == 0

    path = folder / "hydration.md"
    path.write_text(path.read_text().replace("## When to get help",
                                             "## A tip for hot days\nCarry a bottle of water when "
                                             "you go out on a hot day.\n\n## When to get help"))
    assert articles_changed(index, folder)
    edited = build_index(index, embedder, EMBEDDER, folder)
    assert edited.embedded == 1 and edited.passages == first.passages + 1
    (folder / "sleep-basics.md").unlink()
    shrunk = build_index(index, embedder, EMBEDDER, folder)
    assert shrunk.articles == 1 and shrunk.removed > 0 and shrunk.embedded == 0
    opened = open_index(index, embedder, EMBEDDER)
    assert {p.article_id for p in opened.passages} == {"hydration"}
    opened.close()


def test_broken_article_leaves_the_old_index_usable(tmp_path: Path, embedder: Embedder) -> None:
    folder = small_folder(tmp_path, ("sleep-basics",))
    index = tmp_path / "index.sqlite"
    build_index(index, embedder, EMBEDDER, folder)
    before = index.read_bytes()
    (folder / "bad-one.md").write_text("---\nid: bad-one\ntitle: [unclosed\n---\nbody")
    with pytest.raises(ArticleSetError, match=r"bad-one\.md: bad front matter"):
        build_index(index, embedder, EMBEDDER, folder)
    assert index.read_bytes() == before
    assert not (tmp_path / "index.sqlite.building").exists()
    retriever = HybridRetriever(index=open_index(index, embedder, EMBEDDER))
    assert retriever.search("how many hours of sleep do I need").articles()[0] == "sleep-basics"


def test_missing_or_foreign_index_says_what_to_run(tmp_path: Path, embedder: Embedder) -> None:
    with pytest.raises(KnowledgeIndexError, match="coach kb build"):
        open_index(tmp_path / "none.sqlite", embedder, EMBEDDER)
    folder = small_folder(tmp_path, ("sleep-basics",))
    build_index(tmp_path / "i.sqlite", embedder, EMBEDDER, folder)
    with pytest.raises(KnowledgeIndexError, match="another embedder"):
        open_index(tmp_path / "i.sqlite", embedder, "mpnet-base")
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"this is not a database" * 100)
    with pytest.raises(KnowledgeIndexError, match="rebuild"):
        open_index(garbage, embedder, EMBEDDER)


@pytest.mark.parametrize(("question", "article"), [
    ("how do i take my blood presure at home", "bp-home-measuring"),
    ("i feel shaky and sweaty, is my sugar going low", "diabetes-hypo-signs"),
    ("what should i do about my feet with diabeties", "diabetes-foot-care"),
    ("my ankles are puffy and I put on three pounds since yesterday", "heart-failure-daily-weights"),
    ("how do I stop smoking", "smoking-quit-plan"),
    ("nobody visits me anymore and the days are long", "loneliness"),
])
def test_patient_questions_find_the_right_article(retriever: HybridRetriever, question: str,
                                                  article: str) -> None:
    result = retriever.search(question)
    assert article in result.articles()[:3], result.articles()
    assert result.relevant


def test_misspellings_are_mapped_to_indexed_words(retriever: HybridRetriever) -> None:
    result = retriever.search("how much exersize shoud I get each weak")
    assert result.corrections.get("exers") == "exercis"  # stems: "exersize" -> "exercise"
    assert "shoud" not in result.corrections  # a misspelt stopword is dropped, not "corrected"
    assert result.articles()[0].startswith("activity-")


def test_off_topic_questions_are_not_relevant(retriever: HybridRetriever) -> None:
    for question in ("how do I change a flat tyre on my bike", "who won the football last night"):
        assert not retriever.search(question).relevant, question


def test_everyday_words_are_searched_with_the_articles_words(tmp_path: Path) -> None:
    from knowledge.colloquial import LexiconError, _lexicon, article_words, expand

    assert article_words("Gasping for a fag, and my BP's up") == article_words("gasping for a fag") + \
        " " + article_words("bp")
    assert "inhaler" in expand("Where's my blue puffer?") and expand("Hello there") == "Hello there"
    assert article_words("the bagpipes") == ""  # whole words only: no "bp" inside a word
    broken = tmp_path / "colloquial.tsv"
    broken.write_text("fags\tcigarettes\nno tab here\n", encoding="utf-8")
    with pytest.raises(LexiconError, match="line 2"):
        _lexicon(broken)


def test_a_colloquial_question_finds_its_article(retriever: HybridRetriever) -> None:
    # "Pack in the fags" shares no word with the quit-smoking articles.
    question = "how do I pack in the fags for good"
    assert retriever.search(question).articles()[0].startswith("smoking-")


def test_condition_boost_prefers_the_patients_articles(retriever: HybridRetriever) -> None:
    plain = retriever.search("what should I eat", k=10)
    boosted = retriever.search("what should I eat", k=10, conditions=("type-2-diabetes",))
    def rank(result, article_id: str) -> int:  # type: ignore[no-untyped-def]
        ids = result.articles()
        return ids.index(article_id) if article_id in ids else 99
    assert rank(boosted, "nutrition-diabetes-carbs") <= rank(plain, "nutrition-diabetes-carbs")
    assert any("type-2-diabetes" in h.passage.conditions for h in boosted.hits[:3])


def test_langchain_interface_returns_documents(retriever: HybridRetriever) -> None:
    docs = retriever.invoke("tips for sleeping better")
    assert docs and docs[0].metadata["article_id"].startswith("sleep")
    assert "score" in docs[0].metadata


@pytest.mark.parametrize(("query", "message"), [
    ("", "empty"), ("   ", "empty"), ("x" * 5000, "characters"), ("\x00\x01\x02\x03", "look like text"),
    ("12345 678", "look like text"), (b"bytes", "must be text"),
])
def test_bad_queries_get_clear_messages(query: object, message: str) -> None:
    with pytest.raises(QueryError, match=message):
        check_query(query)


def test_optional_reranker_uses_stored_vectors(tmp_path: Path, embedder: Embedder) -> None:
    from tests.conftest import model_path

    reranker = Embedder(model_path("mpnet-base"))
    folder = small_folder(tmp_path, ("sleep-basics", "hydration", "salt-cutting-down"))
    index = tmp_path / "index.sqlite"
    build_index(index, embedder, EMBEDDER, folder)
    with pytest.raises(KnowledgeIndexError, match="re-ranking"):
        HybridRetriever(index=open_index(index, embedder, EMBEDDER), reranker=reranker)
    report = build_index(index, embedder, EMBEDDER, folder, reranker=reranker)
    assert report.embedded == 0 and report.reranked == report.passages
    reranked = HybridRetriever(index=open_index(index, embedder, EMBEDDER), reranker=reranker)
    assert reranked.search("my mouth is dry and my wee is dark").articles()[0] == "hydration"
    assert build_index(index, embedder, EMBEDDER, folder, reranker=reranker).reranked == 0
