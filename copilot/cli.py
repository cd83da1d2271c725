"""The `copilot` command line."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from copilot.config import Settings
from copilot.domain import ArticleKind, Audience
from copilot.terminal import progress_bar
from evals.cli import app as eval_app

if TYPE_CHECKING:
    from copilot.runtime import Runtime
    from ingest.pipeline import IngestReport

app = typer.Typer(
    help="Value Copilot: grounded resolutions and value-enhancing suggestions for support agents.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
app.add_typer(eval_app, name="eval")
console = Console()
err = Console(stderr=True)


def _settings() -> Settings:
    try:
        return Settings()
    except Exception as exc:  # pydantic explains which variable is wrong
        err.print(f"[red]invalid settings:[/red] {exc}")
        raise typer.Exit(1) from exc


def _runtime(settings: Settings | None = None) -> Runtime:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from copilot.runtime import Runtime

    return Runtime.build(settings or _settings())


def _print_report(report: IngestReport) -> None:
    table = Table(title="Ingest summary", show_lines=False)
    table.add_column("")
    for col in ("added", "updated", "unchanged", "deleted", "failed"):
        table.add_column(col, justify="right")
    for name, counts in (("articles", report.articles), ("success plans", report.plans)):
        table.add_row(
            name,
            *(
                str(getattr(counts, c))
                for c in ("added", "updated", "unchanged", "deleted", "failed")
            ),
        )
    console.print(table)
    console.print(
        f"files {report.files} · chunks embedded {report.chunks_embedded} · chunks deleted "
        f"{report.chunks_deleted} · not served (draft/archived) {len(report.not_served)} · "
        f"{report.timings_s.get('total', 0.0):.2f}s · index {report.index_version}"
    )
    for problem in report.warnings:
        console.print(f"[yellow]warning[/yellow] {escape(str(problem))}")
    for problem in report.errors:
        err.print(f"[red]error[/red] {escape(str(problem))}")


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders of articles and plans.")],
    prune: Annotated[bool, typer.Option(help="Delete stored items whose files are gone.")] = False,
    report_file: Annotated[
        Path | None,
        typer.Option("--report", help="Write the JSON report here (default: <data_dir>/reports/)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the JSON report.")] = False,
) -> None:
    """Load, validate, chunk, embed and index knowledge articles and success plans.

    Unchanged files are skipped (nothing is re-embedded). Bad files are reported with the file,
    field and fix, and skipped; good ones are ingested. Exit code 1 if any file failed.
    """
    from copilot.catalog import find_catalog

    runtime = _runtime()
    ingestor = runtime.ingestor(find_catalog(paths))
    with progress_bar(err, disable=as_json) as bar:
        task = bar.add_task("embedding chunks", total=None)

        def progress(_: str, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        report = ingestor.ingest_paths(paths, prune=prune, progress=progress)
    data = report.as_dict()
    target = report_file or runtime.settings.data_dir / "reports" / "ingest-latest.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(data, indent=2), encoding="utf-8")
    if as_json:
        typer.echo(json.dumps(data, indent=2))
    else:
        _print_report(report)
        console.print(f"report: {target}")
    raise typer.Exit(0 if report.ok else 1)


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="What the customer asked, in their words.")],
    product: Annotated[str | None, typer.Option(help="Only articles for this product.")] = None,
    plan: Annotated[str | None, typer.Option(help="Only articles that apply to this tier.")] = None,
    kind: Annotated[
        list[ArticleKind] | None, typer.Option(help="Article kinds (repeatable).")
    ] = None,
    audience: Annotated[Audience | None, typer.Option(help="customer or internal.")] = None,
    locale: Annotated[str | None, typer.Option(help="Only articles in this locale.")] = None,
    k: Annotated[int, typer.Option(min=1, max=50, help="How many articles.")] = 5,
    mode: Annotated[str, typer.Option(help="hybrid, dense or lexical.")] = "hybrid",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Search the published knowledge base the way the copilot does."""
    from copilot.api.schemas import SearchHitOut
    from copilot.retrieval.filters import SearchFilters

    if mode not in ("hybrid", "dense", "lexical"):
        err.print("[red]--mode must be hybrid, dense or lexical[/red]")
        raise typer.Exit(2)
    runtime = _runtime()
    filters = SearchFilters(
        product=product, plan=plan, kinds=tuple(kind or ()), audience=audience, locale=locale
    )
    result = runtime.retriever.search(query, filters, k=k, mode=mode)
    if as_json:
        typer.echo(json.dumps([SearchHitOut.of(h).model_dump() for h in result.hits], indent=2))
        return
    if not result.hits:
        console.print("no published article matches (check --product/--plan, or ingest first)")
        return
    table = Table(title=f"{query!r} · {result.timings_ms.get('total', 0):.1f} ms")
    for col in ("#", "article", "kind", "score", "best passage"):
        table.add_column(col)
    for rank, hit in enumerate(result.hits, 1):
        section = " > ".join(hit.best_chunk.section)
        snippet = hit.best_chunk.text.replace("\n", " ")[:140]
        label = f"{hit.article.id}\n{hit.article.title}"
        if hit.article.audience is Audience.internal:
            label += "\n[magenta](internal: agents only)[/magenta]"
        table.add_row(
            str(rank),
            label,
            hit.article.kind.value,
            f"{hit.score:.3f}",
            f"[dim]{section}[/dim]\n{snippet}",
        )
    console.print(table)


@app.command()
def suggest(
    case_file: Annotated[Path, typer.Argument(help="A case as JSON (the Case contract).",
                                              exists=True, dir_okay=False)],
    as_json: Annotated[bool, typer.Option("--json", help="Print the Suggestion contract.")] = False,
) -> None:
    """Show what the side panel would show an agent for a case."""
    import pydantic
    from rich.panel import Panel

    from copilot.domain import Case

    try:
        case = Case.model_validate_json(case_file.read_text(encoding="utf-8"))
    except pydantic.ValidationError as exc:
        for e in exc.errors():
            where = ".".join(str(p) for p in e["loc"]) or "(case)"
            err.print(f"[red]error[/red] {escape(f'{case_file} [{where}]')}: "
                      f"{escape(e['msg'])}")
        raise typer.Exit(1) from exc
    result = _runtime().engine.suggest(case)
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
        return
    res = result.resolution
    lines = [f"[bold]{escape(res.summary)}[/bold]", ""]
    for n, step in enumerate(res.steps, 1):
        refs = ", ".join(c.article_id for c in step.citations)
        lines.append(f"{n}. {escape(step.text)} [dim]({refs})[/dim]")
    for alt in res.alternatives:
        lines.append(f"[dim]other article: {escape(alt.article_id)} {escape(alt.title)}[/dim]")
    console.print(Panel("\n".join(lines), title=f"Resolution · confidence {res.confidence:.2f}",
                        border_style="green" if res.grounded else "red"))
    if result.hold:
        console.print(Panel(escape(result.hold.reason), title="Value suggestions held: offer "
                            "them once the resolution lands", border_style="yellow"))
    for n, v in enumerate(result.value_suggestions, 1):
        refs = ", ".join(f"{c.article_id} {c.title}" for c in v.citations)
        body = (f"{escape(v.message)}\n\n[dim]why: {escape(v.rationale)}\n"
                f"sources: {escape(refs)}[/dim]")
        title = f"{n}. {v.type.value} · {escape(v.headline)}" + (" · held" if v.held else "")
        console.print(Panel(body, title=title, border_style="dim" if v.held else "cyan"))
    for signal in result.expansion_signals:
        console.print(f"[magenta]expansion signal[/magenta] {signal.feature}: "
                      f"{escape(signal.reason)}")
    latency = result.meta.latency_ms.get("total", 0.0)
    console.print(f"[dim]{result.meta.mode} · prompt {result.meta.prompt_id} "
                  f"{result.meta.prompt_version} · {latency:.0f} ms[/dim]")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default COPILOT_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default COPILOT_PORT).")] = None,
    ingest_first: Annotated[
        bool,
        typer.Option("--ingest/--no-ingest", help="Ingest COPILOT_KNOWLEDGE_PATHS before serving."),
    ] = True,
) -> None:
    """Serve the HTTP API (OpenAPI docs at /docs), after ingesting the knowledge folders."""
    import uvicorn

    from copilot.api.app import create_app

    overrides: dict[str, Any] = {
        k: v for k, v in (("host", host), ("port", port)) if v is not None
    }
    try:
        settings = Settings(**overrides)
    except Exception as exc:
        err.print(f"[red]invalid settings:[/red] {exc}")
        raise typer.Exit(1) from exc
    runtime = _runtime(settings)
    if ingest_first:
        paths = [p for p in settings.knowledge_paths if p.exists()]
        if paths:
            report = runtime.ingestor().ingest_paths(paths, prune=True)
            _print_report(report)
    from threadpoolctl import threadpool_limits

    # Requests multiply small matrices; numpy's BLAS worker threads then spin and slow the next
    # embedding on a small machine. One BLAS thread is faster here (bench/suggest.py).
    threadpool_limits(1, user_api="blas")
    runtime.warm_up()  # load the models before the first request
    url = f"http://{settings.host}:{settings.port}"
    console.print(
        f"[bold green]Value Copilot is serving at {url}[/bold green] (docs: {url}/docs)\n"
        f"  demo helpdesk      {url}/\n"
        f"  side panel         {url}/panel\n"
        f"  knowledge console  {url}/console/knowledge\n"
        f"  QA console         {url}/console/evals",
        soft_wrap=True,
    )
    uvicorn.run(create_app(runtime), host=settings.host, port=settings.port, log_level="info")


if __name__ == "__main__":
    app()
