"""Loaders: Markdown, HTML, plain text, PDF and JSON/JSONL articles; YAML/JSON success plans.

Every format maps onto the Article contract of DESIGN.md:
- Markdown (.md, .markdown): YAML front matter holds the fields, the rest is the body.
- HTML (.html, .htm): the main content (navigation, footers and other boilerplate stripped,
  headings kept) is the body. Fields come from `<meta name="kb:FIELD" content="...">` tags
  (lists comma-separated) and/or a sidecar file; the title defaults to the page title.
- Plain text (.txt) and PDF (.pdf): optional front matter (text only) and/or a sidecar; the
  title defaults to the first line (text) or the document title (PDF).
- Sidecar: `NAME.meta.yaml` beside `NAME.html|txt|pdf`, holding front-matter fields.
- JSON (.json: a list, a single record, or {"articles": [...]}) and JSONL (.jsonl, one record a
  line). Field mapping: id <- id | article_id; title <- title | name; body <- body |
  body_markdown | content | text | body_html | html (HTML is converted to Markdown); url <- url |
  html_url; updated <- updated | updated_at; products <- products | product; status <- status,
  or draft: true -> draft. Other contract fields are taken as they are; any other field is
  ignored with a warning.
- For HTML, text and PDF the id defaults to the file name without its extension.
A record with `account_id` is a success plan, in any of the JSON/YAML forms above (a mapping,
a list, or {"success_plans": [...]}).
Files named README.*, catalog.yaml and *.meta.yaml sidecars are not content and are skipped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import frontmatter
import pydantic
import yaml
from frontmatter.default_handlers import YAMLHandler

from copilot.domain import Article, SuccessPlan
from copilot.errors import Problem
from ingest.validation import problems_from

ARTICLE_SUFFIXES = {".md", ".markdown", ".html", ".htm", ".txt", ".pdf", ".jsonl"}
DATA_SUFFIXES = {".json", ".yaml", ".yml"}
LIST_FIELDS = ("products", "plans", "features", "value_types", "related")
SIDECAR = ".meta.yaml"
_PLACEHOLDER_TITLES = {"", "untitled", "untitled document"}
_HTML_TAG = re.compile(r"<(p|h[1-6]|div|ul|ol|li|br|table|article|section)\b", re.IGNORECASE)


@dataclass
class Loaded:
    """What a batch of files or records yielded: good items, and problems with the bad ones."""

    articles: list[Article] = field(default_factory=list)
    plans: list[tuple[SuccessPlan, str]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    files: int = 0
    failed_files: set[str] = field(default_factory=set)
    failed_items: set[tuple[str, str, str]] = field(default_factory=set)  # (kind, file, record)

    @property
    def failed_articles(self) -> int:
        """Article records (or article files) that could not be loaded."""
        return sum(1 for kind, _, _ in self.failed_items if kind == "article")

    @property
    def failed_plans(self) -> int:
        """Success plans (or plan files) that could not be loaded."""
        return sum(1 for kind, _, _ in self.failed_items if kind == "plan")

    def extend(self, other: Loaded) -> None:
        """Merge another result into this one."""
        self.articles += other.articles
        self.plans += other.plans
        self.problems += other.problems
        self.warnings += other.warnings
        self.files += other.files
        self.failed_files |= other.failed_files
        self.failed_items |= other.failed_items

    def rename_sources(self, names: dict[str, str]) -> None:
        """Replace file paths by display names (for uploads saved to temporary files)."""
        for article in self.articles:
            article.source = names.get(article.source or "", article.source)
        self.plans = [(plan, names.get(src, src)) for plan, src in self.plans]
        for problem in [*self.problems, *self.warnings]:
            problem.source = names.get(problem.source, problem.source)
        self.failed_files = {names.get(f, f) for f in self.failed_files}
        self.failed_items = {(k, names.get(f, f), r) for k, f, r in self.failed_items}

    def fail(self, problem: Problem, kind: str = "article", record: str = "") -> None:
        """Record a problem that stops one item (the rest of the batch goes on)."""
        self.problems.append(problem)
        self.failed_files.add(problem.source)
        self.failed_items.add((kind, problem.source, record))


def is_content_file(path: Path) -> bool:
    """True for files the loaders read; false for docs, catalogs, sidecars and hidden files."""
    name = path.name.lower()
    if name.startswith(".") or name.startswith("readme") or name == "catalog.yaml":
        return False
    if name.endswith(SIDECAR):
        return False
    return path.suffix.lower() in ARTICLE_SUFFIXES | DATA_SUFFIXES


def discover(paths: Iterable[Path]) -> tuple[list[Path], list[Problem]]:
    """Content files under the given files and folders, sorted; missing paths are problems."""
    found: set[Path] = set()
    problems: list[Problem] = []
    for path in paths:
        if path.is_dir():
            found.update(
                p
                for p in path.rglob("*")
                if p.is_file()
                and is_content_file(p)
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        elif path.is_file():
            if is_content_file(path):
                found.add(path)
            else:
                problems.append(
                    Problem(
                        str(path),
                        "not a supported knowledge or plan file",
                        fix=("use .md, .html, .txt, .pdf, .json, .jsonl, .yaml or .yml"),
                    )
                )
        else:
            problems.append(Problem(str(path), "no such file or folder", fix="check the path"))
    return sorted(found), problems


def load_paths(paths: Iterable[Path]) -> Loaded:
    """Load every content file under the paths; each bad file becomes a problem, not a crash."""
    files, problems = discover(paths)
    result = Loaded()
    for problem in problems:
        result.fail(problem)
    for path in files:
        result.extend(load_file(path))
    return result


def load_file(path: Path) -> Loaded:
    """Load one file of any supported format."""
    suffix = path.suffix.lower()
    loader: Callable[[Path, Loaded], None] = {
        ".md": _load_markdown,
        ".markdown": _load_markdown,
        ".html": _load_html,
        ".htm": _load_html,
        ".txt": _load_text,
        ".pdf": _load_pdf,
        ".json": _load_json,
        ".jsonl": _load_jsonl,
        ".yaml": _load_yaml,
        ".yml": _load_yaml,
    }[suffix]
    result = Loaded(files=1)
    try:
        loader(path, result)
    except UnicodeDecodeError:
        result.fail(Problem(str(path), "file is not UTF-8 text", fix="save it as UTF-8"))
    except OSError as exc:
        result.fail(Problem(str(path), f"cannot read file: {exc.strerror or exc}"))
    return result


# --------------------------------------------------------------------------- articles
def make_article(
    meta: Mapping[str, Any],
    body: str,
    source: str,
    result: Loaded,
    *,
    raw: str | None = None,
    line: int | None = None,
    prefix: str = "",
) -> Article | None:
    """Validate one article; on failure record each problem and return None."""
    if "body" in meta:
        result.fail(
            Problem(
                source,
                "`body` is not a front-matter field",
                "body",
                line,
                "put the article text after the closing ---",
            )
        )
        return None
    try:
        article = Article.model_validate({**meta, "body": body, "source": source})
    except pydantic.ValidationError as exc:
        for problem in problems_from(exc, source, raw=raw, line=line, prefix=prefix):
            if problem.field == "body" or problem.field == prefix + "body":
                problem.message = "the article has no body text"
                problem.fix = "write the article text after the front matter"
            result.fail(problem, "article", f"{line}{prefix}")
        return None
    result.articles.append(article)
    return article


def _read_sidecar(path: Path, result: Loaded) -> dict[str, Any]:
    sidecar = path.with_name(path.stem + SIDECAR)
    if not sidecar.is_file():
        return {}
    data = _parse_yaml(sidecar.read_text(encoding="utf-8"), str(sidecar), result)
    if data is None:
        return {}
    if not isinstance(data, dict):
        result.fail(Problem(str(sidecar), "a sidecar must be a mapping of article fields"))
        return {}
    return data


class _ContractYAML(yaml.SafeLoader):
    """Safe YAML that leaves dates as text: pydantic then reports a bad date on its field and
    line instead of the YAML parser raising a bare ValueError (2026-02-30 crashed the load)."""


_ContractYAML.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class _FrontMatterYAML(YAMLHandler):
    def load(self, fm: str, **kwargs: object) -> Any:
        return yaml.load(fm, Loader=_ContractYAML)


def _parse_yaml(
    text: str, source: str, result: Loaded, line_offset: int = 0, kind: str = "article"
) -> Any:
    try:
        return yaml.load(text, Loader=_ContractYAML)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 + line_offset if mark is not None else None
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        result.fail(
            Problem(
                source,
                f"invalid YAML: {reason}",
                line=line,
                fix="check indentation, colons and quoting on that line",
            ),
            kind,
        )
        return None


def _load_markdown(path: Path, result: Loaded) -> None:
    raw = path.read_text(encoding="utf-8")
    source = str(path)
    if not raw.lstrip().startswith("---"):
        result.fail(
            Problem(
                source,
                "no YAML front matter",
                line=1,
                fix=(
                    "start the file with a --- block holding at least id, title, kind and products"
                ),
            )
        )
        return
    parsed = _front_matter(raw, source, result)
    if parsed is not None:
        meta, body, block = parsed
        make_article(meta, body, source, result, raw=block)


def _front_matter(raw: str, source: str, result: Loaded) -> tuple[dict[str, Any], str, str] | None:
    """Fields, body and the front-matter block of a file starting with ---; None if its YAML
    is invalid (the problem is recorded). Line numbers are searched in the block only, so a
    body line that looks like `field:` is never blamed."""
    start = raw.find("---")
    end = raw.find("\n---", start + 3)
    block = raw[: end + 1] if end > 0 else raw
    try:
        post = frontmatter.loads(raw, handler=_FrontMatterYAML())
    except yaml.YAMLError:
        # The block keeps the rest of the opening --- line, so its line 1 is the file's line 1.
        _parse_yaml(block[start + 3 :], source, result, line_offset=raw.count("\n", 0, start))
        return None
    return dict(post.metadata), post.content, block


def _split_lists(meta: dict[str, Any]) -> dict[str, Any]:
    for key in LIST_FIELDS:
        if isinstance(meta.get(key), str):
            meta[key] = [v.strip() for v in meta[key].split(",") if v.strip()]
    return meta


def html_to_markdown(html: str) -> str:
    """Main content of an HTML page as Markdown, boilerplate stripped, headings kept."""
    import trafilatura

    text = trafilatura.extract(
        html,
        output_format="markdown",
        include_formatting=True,
        include_links=False,
        favor_recall=True,
        include_comments=False,
    )
    return text or ""


def _load_html(path: Path, result: Loaded) -> None:
    import trafilatura

    raw = path.read_text(encoding="utf-8")
    meta: dict[str, Any] = {}
    for name, content in re.findall(
        r"<meta\s+name=[\"']kb:([a-z_]+)[\"']\s+content=[\"']([^\"']*)[\"']", raw, re.IGNORECASE
    ):
        meta[name.lower()] = content
    meta.update(_read_sidecar(path, result))
    meta.setdefault("id", path.stem)
    if "title" not in meta:
        page = trafilatura.extract_metadata(raw)
        if page is not None and page.title:
            meta["title"] = page.title
    make_article(_split_lists(meta), html_to_markdown(raw), str(path), result)


def _load_text(path: Path, result: Loaded) -> None:
    raw = path.read_text(encoding="utf-8")
    meta: dict[str, Any] = {}
    body, block = raw, None
    if raw.lstrip().startswith("---"):
        parsed = _front_matter(raw, str(path), result)
        if parsed is None:
            return
        meta, body, block = parsed
    meta.update(_read_sidecar(path, result))
    meta.setdefault("id", path.stem)
    if "title" not in meta:
        first = next((ln.strip() for ln in body.splitlines() if ln.strip()), "")
        if first:
            meta["title"] = first.lstrip("# ")
            body = body.split(first, 1)[1]
    make_article(_split_lists(meta), body.strip(), str(path), result, raw=block)


def _load_pdf(path: Path, result: Loaded) -> None:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(path))
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, ValueError) as exc:
        result.fail(Problem(str(path), f"unreadable PDF: {exc}", fix="re-export the PDF"))
        return
    body = "\n\n".join(p.strip() for p in pages if p.strip())
    if not body:
        result.fail(
            Problem(
                str(path),
                "the PDF has no extractable text (a scan?)",
                fix="export it from the source document, or run OCR first",
            )
        )
        return
    meta = _read_sidecar(path, result)
    meta.setdefault("id", path.stem)
    if "title" not in meta:
        title = (reader.metadata.title if reader.metadata else None) or ""
        # Generators write placeholders such as "untitled" (reportlab's default): not a title.
        if title.strip().lower() in _PLACEHOLDER_TITLES:
            title = body.splitlines()[0]
        meta["title"] = title.strip()
    make_article(_split_lists(meta), body, str(path), result)


# --------------------------------------------------------------------------- JSON exports
_ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("id", "article_id"),
    "title": ("title", "name"),
    "body": ("body", "body_markdown", "content", "text", "body_html", "html"),
    "url": ("url", "html_url"),
    "updated": ("updated", "updated_at"),
    "products": ("products", "product"),
}
_CONTRACT_FIELDS = set(Article.model_fields) - {"body", "source"}


def map_export_record(record: Mapping[str, Any]) -> tuple[dict[str, Any], str, list[str]]:
    """An exported article record as (front-matter fields, Markdown body, ignored field names)."""
    meta: dict[str, Any] = {}
    used: set[str] = set()
    for target, names in _ALIASES.items():
        for name in names:
            if record.get(name) not in (None, ""):
                meta[target] = record[name]
                used.add(name)
                break
    body = str(meta.pop("body", "") or "")
    if _HTML_TAG.search(body):
        body = html_to_markdown(f"<html><body><article>{body}</article></body></html>") or body
    if "id" in meta:
        meta["id"] = str(meta["id"])
    if isinstance(meta.get("products"), str):
        meta["products"] = [meta["products"]]
    if isinstance(meta.get("updated"), str):
        meta["updated"] = meta["updated"][:10]
    for key in _CONTRACT_FIELDS - set(meta):
        if key in record:
            meta[key] = record[key]
            used.add(key)
    if record.get("draft") is True and "status" not in meta:
        meta["status"] = "draft"
        used.add("draft")
    ignored = sorted(set(record) - used - {"draft"} - set(_CONTRACT_FIELDS))
    return _split_lists(meta), body, ignored


def _load_records(
    records: list[Any], source: str, result: Loaded, lines: list[int] | None = None
) -> None:
    ignored: set[str] = set()
    for index, record in enumerate(records):
        line = lines[index] if lines else None
        prefix = "" if lines or len(records) == 1 else f"[{index}]."
        if not isinstance(record, dict):
            result.fail(
                Problem(
                    source,
                    "expected an object (a JSON mapping)",
                    prefix.rstrip(".") or None,
                    line,
                    "each record must be {...}",
                ),
                "article",
                f"{line}{prefix}",
            )
            continue
        if "account_id" in record:
            make_plan(record, source, result, line=line, prefix=prefix)
            continue
        meta, body, extra = map_export_record(record)
        ignored.update(extra)
        make_article(meta, body, source, result, line=line, prefix=prefix)
    if ignored:
        result.warnings.append(
            Problem(source, f"ignored fields not in the contract: {sorted(ignored)}")
        )


def _records_of(data: Any) -> list[Any]:
    if isinstance(data, list):
        return data
    if isinstance(data, dict):
        for key in ("articles", "success_plans", "plans"):
            if isinstance(data.get(key), list):
                return list(data[key])
        return [data]
    return [data]


def _load_json(path: Path, result: Loaded) -> None:
    raw = path.read_text(encoding="utf-8")
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        result.fail(
            Problem(
                str(path),
                f"invalid JSON: {exc.msg}",
                line=exc.lineno,
                fix="fix the syntax at that line (a missing comma or quote?)",
            )
        )
        return
    _load_records(_records_of(data), str(path), result)


def _load_jsonl(path: Path, result: Loaded) -> None:
    records: list[Any] = []
    lines: list[int] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
            lines.append(number)
        except json.JSONDecodeError as exc:
            result.fail(
                Problem(
                    str(path),
                    f"invalid JSON: {exc.msg}",
                    line=number,
                    fix="each line must be one complete JSON object",
                ),
                "article",
                str(number),
            )
    _load_records(records, str(path), result, lines)


# --------------------------------------------------------------------------- success plans
def make_plan(
    data: Any,
    source: str,
    result: Loaded,
    *,
    raw: str | None = None,
    line: int | None = None,
    prefix: str = "",
) -> SuccessPlan | None:
    """Validate one success plan; on failure record each problem and return None."""
    try:
        plan = SuccessPlan.model_validate(data)
    except pydantic.ValidationError as exc:
        for problem in problems_from(exc, source, raw=raw, line=line, prefix=prefix):
            result.fail(problem, "plan", f"{line}{prefix}")
        return None
    result.plans.append((plan, source))
    return plan


def _load_yaml(path: Path, result: Loaded) -> None:
    raw = path.read_text(encoding="utf-8")
    data = _parse_yaml(raw, str(path), result, kind="plan")
    if data is None and str(path) in result.failed_files:
        return
    records = _records_of(data)
    for index, record in enumerate(records):
        prefix = "" if len(records) == 1 else f"[{index}]."
        if not isinstance(record, dict) or "account_id" not in record:
            result.fail(
                Problem(
                    str(path),
                    "not a success plan: `account_id` is missing",
                    prefix + "account_id",
                    fix=(
                        "YAML files hold success plans; add account_id, or put articles in Markdown"
                    ),
                ),
                "plan",
                prefix,
            )
            continue
        make_plan(record, str(path), result, raw=raw if len(records) == 1 else None, prefix=prefix)
