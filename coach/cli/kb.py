"""`coach kb`: build, search, describe and evaluate the reviewed knowledge base."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from coach.cli.main import JsonOpt, console, err_console, fail, print_json
from coach.cli.text import shown

kb_app = typer.Typer(
    help="The reviewed health knowledge base: build the index, search it, check its quality.",
    no_args_is_help=True,
)


def _open(ctx: typer.Context) -> Any:
    from coach.grounding import Knowledge, open_knowledge
    from knowledge.article import ArticleSetError
    from knowledge.index import KnowledgeIndexError

    try:
        knowledge: Knowledge = open_knowledge(ctx.obj.settings)
    except ArticleSetError as exc:
        fail(f"{exc}\nfix the articles, then run `coach kb build`")
    except KnowledgeIndexError as exc:
        fail(str(exc))
    return knowledge


@kb_app.command("build")
def build(
    ctx: typer.Context,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Re-embed every passage.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Check every article and bring the index up to date (only changed passages are embedded).

    A broken article (bad front matter, missing sources, empty body, duplicate id)
    stops the build with the file and the problem; the previous index stays in use.

    Examples:

      coach kb build
      coach kb build --rebuild --json
    """
    from coach.grounding import build_knowledge
    from knowledge.article import ArticleSetError

    settings = ctx.obj.settings
    path = settings.kb_index_path
    if rebuild:
        path.unlink(missing_ok=True)
    with Progress(TextColumn("embedding passages"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=err_console, transient=True,
                  disable=as_json) as bar:
        task = bar.add_task("embed", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        try:
            report = build_knowledge(settings, progress)
        except ArticleSetError as exc:
            kept = "the previous index is unchanged" if path.is_file() else "no index was written"
            fail(f"{exc}\n{kept}; fix the files above and run `coach kb build` again")
        except FileNotFoundError as exc:
            fail(f"{exc}; set articles_path to a folder of articles")
    data = {"articles": report.articles, "passages": report.passages, "embedded": report.embedded,
            "removed": report.removed, "reranker_embedded": report.reranked,
            "seconds": round(report.seconds, 2), "index": str(report.index_path)}
    if as_json:
        print_json(data)
        return
    console.print(f"[green]index ready[/]: {report.articles} articles, {report.passages} passages "
                  f"({report.embedded} embedded, {report.removed} removed"
                  + (f", {report.reranked} for the re-ranker" if report.reranked else "")
                  + f") in {report.seconds:.1f} s",
                  highlight=False)


@kb_app.command("search")
def search(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help="A question in the patient's words.")],
    k: Annotated[int, typer.Option("--k", min=1, max=20, help="How many passages.")] = 5,
    condition: Annotated[list[str] | None, typer.Option(
        "--condition", help="Boost articles for this condition (repeatable), e.g. 'type 2 diabetes'."
    )] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show the passages the coach would be given for a question, with their scores.

    Examples:

      coach kb search "how do i take my blood presure at home"
      coach kb search "what should I eat" --condition "type 2 diabetes" --json
    """
    from coach.grounding import condition_tags
    from knowledge.retriever import QueryError

    knowledge = _open(ctx)
    try:
        result = knowledge.retriever.search(query, k=k, conditions=condition_tags(condition or []))
    except QueryError as exc:
        fail(f"{exc}, e.g. coach kb search \"how can I sleep better\"")
    hits = [{"rank": i + 1, "passage": h.passage.id, "title": h.passage.title,
             "section": h.passage.section, "score": round(h.score, 4),
             "similarity": round(h.similarity, 3) if h.similarity == h.similarity else None,
             "bm25_rank": None if h.lexical_rank is None else h.lexical_rank + 1,
             "dense_rank": None if h.dense_rank is None else h.dense_rank + 1}
            for i, h in enumerate(result.hits)]
    data = {"query": result.query, "relevant": result.relevant,
            "best_similarity": round(result.best_similarity, 3), "threshold": result.threshold,
            "corrections": result.corrections, "ms": round(1000 * result.seconds, 1), "hits": hits}
    if as_json:
        print_json(data)
        return
    table = Table(title=f"{result.query!r}  ({data['ms']} ms)")
    for col in ("#", "article: section", "score", "cosine", "bm25#", "dense#"):
        table.add_column(col)
    for h in hits:
        table.add_row(str(h["rank"]), f"{h['title']}: {h['section']}", f"{h['score']:.4f}",
                      str(h["similarity"]), str(h["bm25_rank"]), str(h["dense_rank"]))
    console.print(table)
    if result.corrections:
        console.print("spelling: " + shown(", ".join(f"{a}->{b}" for a, b in result.corrections.items())),
                      highlight=False)
    if not result.relevant:
        console.print(f"[yellow]nothing relevant[/] (best cosine {result.best_similarity:.2f} < "
                      f"{result.threshold}): the coach would say it has no reviewed information",
                      highlight=False)


@kb_app.command("stats")
def stats(
    ctx: typer.Context,
    articles: Annotated[bool, typer.Option("--articles", help="List every article.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Article and passage counts, reading level (Flesch-Kincaid grade) and sources.

    Examples:

      coach kb stats
      coach kb stats --articles --json
    """
    knowledge = _open(ctx)
    s = knowledge.retriever.index.stats()
    grades = [a.grade for a in s.articles]
    over = [a.id for a in s.articles if a.grade > 8.0]
    publishers = sorted({src.split("(")[-1].rstrip(")") for a in s.articles for src in a.sources})
    data: dict[str, Any] = {
        "articles": len(s.articles), "passages": s.passages, "embedder": s.embedder,
        "built_at": s.built_at, "words_median": sorted(a.words for a in s.articles)[len(s.articles) // 2],
        "grade_median": round(s.median_grade, 1), "grade_max": round(max(grades), 1),
        "over_grade_8": over, "conditions": sorted({c for a in s.articles for c in a.conditions}),
        "publishers": publishers,
    }
    if articles:
        data["list"] = [a.__dict__ for a in s.articles]
    if as_json:
        print_json(data)
        return
    console.print(f"{data['articles']} articles, {data['passages']} passages, embedder {s.embedder}, "
                  f"built {s.built_at}", highlight=False)
    console.print(f"reading level (Flesch-Kincaid grade): median {data['grade_median']}, "
                  f"max {data['grade_max']}; over grade 8: {len(over)} {over if over else ''}",
                  highlight=False)
    console.print(f"median length {data['words_median']} words; {len(publishers)} source publishers",
                  highlight=False)
    if articles:
        table = Table()
        for col in ("id", "title", "words", "grade", "passages", "reviewed"):
            table.add_column(col)
        for a in s.articles:
            table.add_row(a.id, a.title, str(a.words), f"{a.grade:.1f}", str(a.passages), a.last_reviewed)
        console.print(table)


@kb_app.command("eval")
def evaluate(
    ctx: typer.Context,
    split: Annotated[str, typer.Option(help="test (never tuned on; the figure to quote) or tune.")] = "test",
    show_misses: Annotated[bool, typer.Option(help="List questions missed at rank 5 (tune only).")] = False,
    as_json: JsonOpt = False,
) -> None:
    """recall@1, recall@5 and MRR over article ids, refusals, and median latency per query.

    Examples:

      coach kb eval
      coach kb eval --split tune --show-misses
      COACH_KB_RERANKER=mpnet-base coach kb eval     # with the optional re-ranker
    """
    from knowledge.evaluation import SPLITS, QuestionFileError
    from knowledge.evaluation import evaluate as run_eval

    if split not in SPLITS:
        fail("--split must be test or tune")
    knowledge = _open(ctx)
    try:
        result = run_eval(knowledge.retriever, split)
    except (QuestionFileError, FileNotFoundError) as exc:
        fail(str(exc))
    misses = result.pop("misses")
    result["reranker"] = ctx.obj.settings.kb_reranker or None
    if split == "test":
        result["misses"] = len(misses)  # the test split stays sealed
    if as_json:
        print_json(result)
        return
    reranked = ", re-ranked by " + ctx.obj.settings.kb_reranker if ctx.obj.settings.kb_reranker else ""
    table = Table(title=f"coach kb eval: {split} split, {result['questions']} questions{reranked}")
    for col in ("recall@1", "recall@5", "MRR", "median ms", "p95 ms", "answerable refused",
                "unanswerable refused"):
        table.add_column(col)
    table.add_row(f"{result['recall@1']:.3f}", f"{result['recall@5']:.3f}", f"{result['mrr']:.3f}",
                  f"{result['median_ms']}", f"{result['p95_ms']}", f"{result['answerable_refused']:.3f}",
                  f"{result['unanswerable_refused']:.3f} of {result['unanswerable']}")
    console.print(table)
    if show_misses and split == "tune":
        for m in misses:
            console.print(f"{m['q']!r}\n    want {m['want']} got {m['got']}", highlight=False)
