"""Knowledge base: ingest, search, and article CRUD."""

from __future__ import annotations

import datetime as dt
import re
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from copilot.api.deps import RuntimeDep
from copilot.api.schemas import IngestRequest, SearchHitOut, SearchOut
from copilot.domain import Article, ArticleKind, ArticleStatus, Audience
from copilot.errors import NotFound
from copilot.knowledge_health import GapTopic, ProductCoverage, coverage, knowledge_gaps
from copilot.retrieval.filters import SearchFilters
from ingest.pipeline import IngestReport

router = APIRouter(prefix="/v1/knowledge", tags=["knowledge"])
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def _report_response(report: IngestReport, partial: bool = False) -> JSONResponse:
    # Good items are ingested either way; 422 tells the caller some input needs fixing, unless
    # it asked for the report as the answer (partial=true: `ok` in the report tells).
    code = status.HTTP_200_OK if report.ok or partial else status.HTTP_422_UNPROCESSABLE_CONTENT
    return JSONResponse(report.as_dict(), status_code=code)


@router.post(
    "/ingest",
    summary="Ingest knowledge files (multipart) or JSON articles and success plans",
    responses={422: {"description": "Some items were invalid; the report says which and why"}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "files": {
                                "type": "array",
                                "items": {"type": "string", "format": "binary"},
                            }
                        },
                        "required": ["files"],
                    }
                },
                "application/json": {"schema": IngestRequest.model_json_schema()},
            },
        }
    },
)
async def ingest(
    request: Request,
    runtime: RuntimeDep,
    partial: Annotated[
        bool,
        Query(description="answer 200 with the report even when some items failed"),
    ] = False,
) -> JSONResponse:
    """Multipart `files` (any supported format) or a JSON IngestRequest; returns the report."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await request.form()
        uploads = [f for f in form.getlist("files") if not isinstance(f, str)]
        if not uploads:
            raise HTTPException(422, "multipart ingest needs one or more parts named `files`")
        with tempfile.TemporaryDirectory() as tmp:
            names: dict[str, str] = {}
            for upload in uploads:
                name = _SAFE_NAME.sub("_", Path(upload.filename or "upload").name)
                target = Path(tmp) / name
                target.write_bytes(await upload.read())
                names[str(target)] = f"upload:{upload.filename}"
            report = runtime.ingestor().ingest_paths([Path(tmp)], source_names=names)
        return _report_response(report, partial)
    if content_type.startswith("application/json"):
        try:
            body = IngestRequest.model_validate_json(await request.body())
        except PydanticValidationError as exc:
            raise HTTPException(422, detail=exc.errors(include_url=False)) from exc
        if not body.articles and not body.success_plans:
            raise HTTPException(422, "send at least one item in `articles` or `success_plans`")
        return _report_response(
            runtime.ingestor().ingest_records(body.articles, body.success_plans), partial
        )
    raise HTTPException(
        status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
        "send multipart/form-data with `files`, or application/json with `articles`",
    )


@router.get("/search", response_model=SearchOut)
def search(
    runtime: RuntimeDep,
    q: Annotated[str, Query(min_length=1, max_length=2000, description="what to look for")],
    product: str | None = None,
    plan: str | None = None,
    kind: Annotated[list[ArticleKind] | None, Query()] = None,
    audience: Audience | None = None,
    locale: str | None = None,
    k: Annotated[int, Query(ge=1, le=50)] = 5,
    mode: Annotated[str, Query(pattern="^(hybrid|dense|lexical)$")] = "hybrid",
) -> SearchOut:
    """Published articles that best answer the query, with their best passage."""
    filters = SearchFilters(
        product=product, plan=plan, kinds=tuple(kind or ()), audience=audience, locale=locale
    )
    result = runtime.retriever.search(q, filters, k=k, mode=mode)
    return SearchOut(
        query=q,
        index_version=result.index_version,
        took_ms=round(result.timings_ms.get("total", 0.0), 2),
        hits=[SearchHitOut.of(h) for h in result.hits],
    )


class ArticleSummary(BaseModel):
    id: str
    title: str
    kind: ArticleKind
    status: ArticleStatus
    audience: Audience
    products: list[str]
    plans: list[str] | None
    features: list[str]
    updated: dt.date | None
    url: str | None
    source: str | None


@router.get("/articles", response_model=list[ArticleSummary])
def list_articles(
    runtime: RuntimeDep,
    status: ArticleStatus | None = None,
    kind: ArticleKind | None = None,
    product: str | None = None,
) -> list[ArticleSummary]:
    """Every stored article (any status), filtered by status, kind and product."""
    articles = runtime.store.list_articles(status=status.value if status else None)
    return [
        ArticleSummary(
            id=a.id,
            title=a.title,
            kind=a.kind,
            status=a.status,
            audience=a.audience,
            products=list(a.products),
            plans=list(a.plans) if a.plans else None,
            features=list(a.features),
            updated=a.updated,
            url=a.url,
            source=a.source,
        )
        for a in articles
        if (kind is None or a.kind is kind) and (product is None or product in a.products)
    ]


@router.get("/coverage", response_model=list[ProductCoverage])
def get_coverage(runtime: RuntimeDep) -> list[ProductCoverage]:
    """Per product: articles that can support each value move, and which catalog features
    have no how-to, no best practice or no value proof."""
    return coverage(runtime.catalog, runtime.store.list_articles(status="published"))


@router.get("/gaps", response_model=list[GapTopic])
def get_gaps(
    runtime: RuntimeDep,
    days: Annotated[int, Query(ge=1, le=365, description="how far back to look")] = 30,
    limit: Annotated[int, Query(ge=1, le=5000, description="newest suggestions read")] = 500,
) -> list[GapTopic]:
    """Recent cases with no grounded answer or low confidence (under COPILOT_GAP_CONFIDENCE),
    grouped by topic, each group with a draft article to start from."""
    since = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
    return knowledge_gaps(
        runtime.store.recent_suggestions(limit, since),
        runtime.embedder,
        threshold=runtime.settings.gap_confidence,
    )


@router.get("/articles/{article_id}", response_model=Article)
def get_article(article_id: str, runtime: RuntimeDep) -> Article:
    """One article in any status (knowledge managers see drafts and archived ones here)."""
    article = runtime.store.get_article(article_id)
    if article is None:
        raise NotFound(f"no article with id '{article_id}'")
    return article


@router.put("/articles/{article_id}", responses={422: {"description": "Invalid article"}})
def put_article(article_id: str, payload: dict[str, Any], runtime: RuntimeDep) -> JSONResponse:
    """Create or replace an article from JSON (the Article contract, with `body`)."""
    if payload.get("id", article_id) != article_id:
        raise HTTPException(
            422,
            f"body id '{payload['id']}' differs from the path id "
            f"'{article_id}'; make them equal or omit the body id",
        )
    report = runtime.ingestor().ingest_records([{**payload, "id": article_id}])
    response = _report_response(report)
    if report.ok and report.articles.added:
        response.status_code = status.HTTP_201_CREATED
    return response


@router.delete("/articles/{article_id}", status_code=204)
def delete_article(article_id: str, runtime: RuntimeDep) -> Response:
    """Delete an article from the store and both indexes."""
    if not runtime.ingestor().delete_article(article_id):
        raise NotFound(f"no article with id '{article_id}'")
    return Response(status_code=204)
