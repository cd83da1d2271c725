"""Every loader maps its format onto the contracts, and every bad input becomes a Problem that
names the file, the field, the line where there is one, and what to write instead."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from copilot.domain import ArticleKind, ArticleStatus, Stage
from copilot.errors import Problem
from ingest.loaders import Loaded, discover, load_file, load_paths
from tests.factories import make_article, make_plan, write_article, write_plan

GOOD_FRONT_MATTER = "id: kb-0100\ntitle: Reset a password\nkind: how_to\nproducts: [ledgerly]\n"


# --------------------------------------------------------------------------- helpers
def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def write_markdown(folder: Path, name: str, front: str, body: str = "Some body text.\n") -> Path:
    """A Markdown file with exactly this front-matter text (so line numbers are known)."""
    return write(folder / name, f"---\n{front}---\n\n{body}")


def write_pdf(path: Path, lines: list[str], title: str | None = None) -> Path:
    from reportlab.pdfgen import canvas

    pdf = canvas.Canvas(str(path))
    if title:
        pdf.setTitle(title)
    for n, line in enumerate(lines):
        pdf.drawString(72, 720 - 20 * n, line)
    pdf.save()
    return path


def write_sidecar(path: Path, **fields: Any) -> Path:
    return write(path.with_name(path.stem + ".meta.yaml"), yaml.safe_dump(fields))


def line_of(path: Path, text: str) -> int:
    """1-based line of the first line of a file that starts with text."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(n for n, line in enumerate(lines, start=1) if line.lstrip().startswith(text))


def only_problem(result: Loaded) -> Problem:
    assert result.articles == [] and result.plans == []
    assert len(result.problems) == 1, result.problems
    return result.problems[0]


def record(**overrides: Any) -> dict[str, Any]:
    """An article as an exported JSON record."""
    return make_article(**overrides)


# --------------------------------------------------------------------------- Markdown
def test_markdown_article_loads_front_matter_and_body(tmp_path: Path) -> None:
    path = write_article(tmp_path, plans=["pro"], updated="2026-10-01", related=["kb-0007"])

    result = load_file(path)

    assert result.problems == [] and result.files == 1
    [article] = result.articles
    assert article.id == "kb-9001"
    assert article.kind is ArticleKind.troubleshooting
    assert article.plans == ["pro"]
    assert article.updated == dt.date(2026, 10, 1)
    assert article.related == ["kb-0007"]
    assert article.body.startswith("Use this when the bank feed stops importing")
    assert "## Check the connection" in article.body
    assert article.source == str(path)


def test_unquoted_yaml_dates_in_front_matter_become_dates(tmp_path: Path) -> None:
    path = write_markdown(tmp_path, "a.md", GOOD_FRONT_MATTER + "updated: 2026-10-01\n")

    [article] = load_file(path).articles

    assert article.updated == dt.date(2026, 10, 1)


def test_missing_required_field_names_file_field_and_fix(tmp_path: Path) -> None:
    path = write_article(tmp_path, title=None)

    problem = only_problem(load_file(path))

    assert problem.source == str(path)
    assert problem.field == "title"
    assert problem.line is None  # nothing to point at
    assert problem.fix == "add it"
    assert str(path) in str(problem) and "[title]" in str(problem)


def test_missing_field_is_not_blamed_on_a_body_line_that_looks_like_it(tmp_path: Path) -> None:
    front = "id: kb-0100\nkind: how_to\nproducts: [ledgerly]\n"
    path = write_markdown(tmp_path, "a.md", front, body="Intro.\n\ntitle: not front matter\n")

    problem = only_problem(load_file(path))

    assert problem.field == "title"
    assert problem.line is None


def test_misspelled_field_names_its_line_and_suggests_the_spelling(tmp_path: Path) -> None:
    path = write_article(tmp_path, titel="Bank feed")

    problem = only_problem(load_file(path))

    assert problem.source == str(path)
    assert problem.field == "titel"
    assert problem.line == line_of(path, "titel:")
    assert problem.message == "unknown field 'titel'"
    assert problem.fix is not None and "did you mean 'title'" in problem.fix


def test_bad_enum_value_names_its_line_and_the_allowed_values(tmp_path: Path) -> None:
    path = write_article(tmp_path, kind="tutorial")
    assert path.read_text().splitlines()[3] == "kind: tutorial"  # line 4 of the file

    problem = only_problem(load_file(path))

    assert (problem.source, problem.field, problem.line) == (str(path), "kind", 4)
    assert problem.fix is not None
    assert all(kind.value in problem.fix for kind in ArticleKind)


def test_bad_slug_names_the_list_item_its_line_and_the_slug_rule(tmp_path: Path) -> None:
    path = write_markdown(tmp_path, "a.md", GOOD_FRONT_MATTER.replace("[ledgerly]", "[Ledgerly]"))

    problem = only_problem(load_file(path))

    assert (problem.source, problem.field, problem.line) == (str(path), "products[0]", 5)
    assert problem.fix is not None and "lowercase" in problem.fix


@pytest.mark.parametrize("date", ["2026-13-01", "2026-02-30", "'01/10/2026'", "next week"])
def test_bad_date_names_its_line_and_the_date_format(tmp_path: Path, date: str) -> None:
    path = write_markdown(tmp_path, "a.md", GOOD_FRONT_MATTER + f"updated: {date}\n")

    problem = only_problem(load_file(path))

    assert (problem.source, problem.field, problem.line) == (str(path), "updated", 6)
    assert problem.fix == "write the date as YYYY-MM-DD"


def test_invalid_yaml_front_matter_points_at_the_broken_line(tmp_path: Path) -> None:
    front = "id: kb-0100\ntitle: Reset: your password\nkind: how_to\nproducts: [ledgerly]\n"
    path = write_markdown(tmp_path, "a.md", front)
    assert path.read_text().splitlines()[2].startswith("title: Reset:")  # line 3

    problem = only_problem(load_file(path))

    assert problem.source == str(path)
    assert problem.message.startswith("invalid YAML")
    assert problem.line == 3
    assert problem.fix is not None and "quoting" in problem.fix


def test_file_without_front_matter_says_how_to_start_one(tmp_path: Path) -> None:
    path = write(tmp_path / "a.md", "# Reset a password\n\nGo to settings.\n")

    problem = only_problem(load_file(path))

    assert (problem.source, problem.line) == (str(path), 1)
    assert problem.message == "no YAML front matter"
    assert problem.fix is not None and "---" in problem.fix


def test_empty_body_is_a_problem_on_the_body(tmp_path: Path) -> None:
    path = write_markdown(tmp_path, "a.md", GOOD_FRONT_MATTER, body="\n   \n")

    problem = only_problem(load_file(path))

    assert (problem.source, problem.field) == (str(path), "body")
    assert problem.message == "the article has no body text"
    assert problem.fix == "write the article text after the front matter"


def test_body_written_in_front_matter_is_refused(tmp_path: Path) -> None:
    path = write_markdown(tmp_path, "a.md", GOOD_FRONT_MATTER + "body: text\n")

    problem = only_problem(load_file(path))

    assert problem.field == "body"
    assert problem.fix is not None and "after the closing ---" in problem.fix


def test_each_bad_field_of_one_file_is_its_own_problem(tmp_path: Path) -> None:
    path = write_article(tmp_path, kind="tutorial", titel="x", status="live")

    result = load_file(path)

    assert {p.field for p in result.problems} == {"kind", "titel", "status"}
    assert result.failed_files == {str(path)}


# --------------------------------------------------------------------------- HTML
HTML_PAGE = """<!DOCTYPE html>
<html><head><title>Set up bank rules</title>
<meta name="kb:id" content="kb-0500">
<meta name="kb:kind" content="how_to">
<meta name="kb:products" content="ledgerly, shiftwise">
<meta name="kb:features" content="bank_rules">
</head><body>
<nav><a href="/">Home</a> | <a href="/pricing">Pricing menu link</a></nav>
<main><article>
<h1>Set up bank rules</h1>
<p>Bank rules categorise recurring transactions automatically so you spend less time on
month-end reconciliation work.</p>
<h2>Create a rule</h2>
<p>Open Banking, choose Rules and select New rule. Pick the payee and the category that should
always be applied to it.</p>
<h3>Test the rule</h3>
<p>Run the rule against last month's transactions to preview which ones it would categorise
before you save it.</p>
</article></main>
<footer><p>Copyright 2026 Fernhill Software. All rights reserved. Privacy policy.</p></footer>
</body></html>
"""


def test_html_body_keeps_headings_and_drops_navigation_and_footer(tmp_path: Path) -> None:
    path = write(tmp_path / "rules.html", HTML_PAGE)

    result = load_file(path)

    assert result.problems == []
    [article] = result.articles
    assert "## Create a rule" in article.body
    assert "### Test the rule" in article.body
    assert "Run the rule against last month's transactions" in article.body
    for boilerplate in ("Pricing menu link", "Copyright 2026", "Privacy policy"):
        assert boilerplate not in article.body


def test_html_meta_tags_fill_the_fields_and_the_title_comes_from_the_page(tmp_path: Path) -> None:
    path = write(tmp_path / "rules.html", HTML_PAGE)

    [article] = load_file(path).articles

    assert article.id == "kb-0500"
    assert article.title == "Set up bank rules"
    assert article.kind is ArticleKind.how_to
    assert article.products == ["ledgerly", "shiftwise"]
    assert article.features == ["bank_rules"]


def test_html_sidecar_fills_the_fields_and_the_id_defaults_to_the_file_name(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path / "export-data.html",
        (
            "<html><head><title>Export your data</title></head><body><article>"
            "<h2>Before you start</h2><p>Exports include every invoice, bill and bank transaction"
            " in the date range you choose, as one CSV file per record type.</p>"
            "</article></body></html>"
        ),
    )
    write_sidecar(path, kind="faq", products=["ledgerly"], plans=["pro"])

    result = load_file(path)

    assert result.problems == []
    [article] = result.articles
    assert article.id == "export-data"
    assert article.title == "Export your data"
    assert article.kind is ArticleKind.faq
    assert article.plans == ["pro"]
    assert "## Before you start" in article.body


def test_html_bad_meta_value_names_the_file_and_field(tmp_path: Path) -> None:
    path = write(tmp_path / "rules.html", HTML_PAGE.replace('content="how_to"', 'content="howto"'))

    problem = only_problem(load_file(path))

    assert (problem.source, problem.field) == (str(path), "kind")
    assert problem.fix is not None and "how_to" in problem.fix


# --------------------------------------------------------------------------- plain text
def test_text_title_is_the_first_line_and_fields_come_from_the_sidecar(tmp_path: Path) -> None:
    path = write(
        tmp_path / "export-guide.txt", "\nHow to export data\n\nGo to Settings and choose Export.\n"
    )
    write_sidecar(path, kind="how_to", products=["ledgerly"])

    result = load_file(path)

    assert result.problems == []
    [article] = result.articles
    assert (article.id, article.title) == ("export-guide", "How to export data")
    assert article.body == "Go to Settings and choose Export."


def test_text_front_matter_supplies_fields_and_comma_lists(tmp_path: Path) -> None:
    path = write(
        tmp_path / "a.txt",
        (
            "---\nid: kb-0700\ntitle: Close checklist\nkind: faq\nproducts: ledgerly, shiftwise\n"
            "---\nUse the checklist every month.\n"
        ),
    )

    [article] = load_file(path).articles

    assert (article.id, article.title) == ("kb-0700", "Close checklist")
    assert article.products == ["ledgerly", "shiftwise"]
    assert article.body == "Use the checklist every month."


def test_text_with_invalid_front_matter_is_a_problem_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path / "a.txt", "---\nid: kb-0700\ntitle: Close: checklist\n---\nText.\n")

    problem = only_problem(load_file(path))

    assert (problem.source, problem.line) == (str(path), 3)
    assert problem.message.startswith("invalid YAML")


def test_text_without_sidecar_names_the_missing_fields(tmp_path: Path) -> None:
    path = write(tmp_path / "a.txt", "Title\n\nBody.\n")

    result = load_file(path)

    assert {p.field for p in result.problems} == {"kind", "products"}
    assert {p.source for p in result.problems} == {str(path)}


def test_invalid_sidecar_yaml_names_the_sidecar_and_line(tmp_path: Path) -> None:
    path = write(tmp_path / "a.txt", "Title\n\nBody.\n")
    sidecar = write(tmp_path / "a.meta.yaml", "kind: faq\nproducts: [ledgerly\n")

    result = load_file(path)

    sidecar_problems = [p for p in result.problems if p.source == str(sidecar)]
    assert len(sidecar_problems) == 1
    assert sidecar_problems[0].line == 3  # where the parser runs out of input
    assert str(sidecar) in result.failed_files


# --------------------------------------------------------------------------- PDF
def test_pdf_text_and_document_title_with_a_sidecar(tmp_path: Path) -> None:
    path = write_pdf(
        tmp_path / "payroll.pdf",
        [
            "Export payroll from Shiftwise each Friday.",
            "Choose the pay period and download the CSV.",
        ],
        title="Payroll export guide",
    )
    write_sidecar(path, kind="how_to", products=["shiftwise"], features=["payroll_export"])

    result = load_file(path)

    assert result.problems == []
    [article] = result.articles
    assert (article.id, article.title) == ("payroll", "Payroll export guide")
    assert article.features == ["payroll_export"]
    assert "Export payroll from Shiftwise each Friday." in article.body
    assert "download the CSV" in article.body


def test_pdf_without_a_document_title_is_titled_by_its_first_line(tmp_path: Path) -> None:
    path = write_pdf(tmp_path / "p.pdf", ["Shift swap rules", "Swaps need manager approval."])
    write_sidecar(path, kind="policy", products=["shiftwise"])

    [article] = load_file(path).articles

    assert article.title == "Shift swap rules"


def test_pdf_without_text_is_a_clear_problem(tmp_path: Path) -> None:
    from reportlab.pdfgen import canvas

    path = tmp_path / "scan.pdf"
    pdf = canvas.Canvas(str(path))
    pdf.rect(100, 100, 200, 200, fill=1)  # an image-like page: no text at all
    pdf.save()
    write_sidecar(path, kind="how_to", products=["shiftwise"])

    problem = only_problem(load_file(path))

    assert problem.source == str(path)
    assert "no extractable text" in problem.message
    assert problem.fix is not None and "OCR" in problem.fix


def test_corrupt_pdf_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    path = write(tmp_path / "broken.pdf", "this is not a PDF")

    problem = only_problem(load_file(path))

    assert problem.source == str(path)


# --------------------------------------------------------------------------- JSON / JSONL
@pytest.mark.parametrize(
    "shape",
    [
        lambda records: records,
        lambda records: {"articles": records},
    ],
    ids=["list", "articles-key"],
)
def test_json_list_and_wrapped_list_load_every_record(tmp_path: Path, shape: Any) -> None:
    records = [record(id="kb-1"), record(id="kb-2", kind="faq")]
    path = write(tmp_path / "export.json", json.dumps(shape(records)))

    result = load_file(path)

    assert result.problems == []
    assert [a.id for a in result.articles] == ["kb-1", "kb-2"]
    assert result.articles[1].kind is ArticleKind.faq


def test_json_single_object_loads_one_article(tmp_path: Path) -> None:
    path = write(tmp_path / "one.json", json.dumps(record(id="kb-7")))

    [article] = load_file(path).articles

    assert article.id == "kb-7"
    assert article.body.startswith("Use this when")


def test_zendesk_like_record_maps_onto_the_contract(tmp_path: Path) -> None:
    zendesk = {
        "id": 360001,
        "name": "Export your invoices",
        "html_url": "https://acme.zendesk.com/hc/en-us/articles/360001",
        "updated_at": "2026-05-04T10:00:00Z",
        "body_html": "<h2>Steps</h2><p>Open Invoices, select the date range and choose Export"
        " to download a CSV of every invoice.</p>",
        "draft": True,
        "kind": "how_to",
        "product": "ledgerly",
        "section_id": 7,
        "author_id": 9,
    }
    path = write(tmp_path / "zendesk.json", json.dumps([zendesk]))

    result = load_file(path)

    assert result.problems == []
    [article] = result.articles
    assert article.id == "360001"
    assert article.title == "Export your invoices"
    assert article.url == "https://acme.zendesk.com/hc/en-us/articles/360001"
    assert article.updated == dt.date(2026, 5, 4)
    assert article.status is ArticleStatus.draft
    assert article.products == ["ledgerly"]
    assert article.body.startswith("## Steps")
    assert "<p>" not in article.body
    [warning] = result.warnings
    assert warning.source == str(path)
    assert "['author_id', 'section_id']" in warning.message


def test_json_bad_record_names_its_index_and_the_others_load(tmp_path: Path) -> None:
    records = [record(id="kb-1"), record(id="kb-2", title=None)]
    path = write(tmp_path / "export.json", json.dumps(records))

    result = load_file(path)

    assert [a.id for a in result.articles] == ["kb-1"]
    [problem] = result.problems
    assert (problem.source, problem.field, problem.fix) == (str(path), "[1].title", "add it")


def test_invalid_json_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path / "export.json", '[\n  {"id": "kb-1",\n   "title": "x"\n  \n')

    problem = only_problem(load_file(path))

    assert problem.source == str(path)
    assert problem.message.startswith("invalid JSON")
    assert problem.line == 5
    assert problem.fix is not None


def test_jsonl_bad_line_is_reported_with_its_number_and_other_lines_load(
    tmp_path: Path,
) -> None:
    lines = [
        json.dumps(record(id="kb-1")),
        '{"id": "kb-2", "title": ',
        "",
        json.dumps(record(id="kb-3")),
        json.dumps(record(id="kb-4", kind="tutorial")),
    ]
    path = write(tmp_path / "export.jsonl", "\n".join(lines) + "\n")

    result = load_file(path)

    assert [a.id for a in result.articles] == ["kb-1", "kb-3"]
    by_line = {p.line: p for p in result.problems}
    assert set(by_line) == {2, 5}
    assert by_line[2].message.startswith("invalid JSON")
    assert by_line[2].fix == "each line must be one complete JSON object"
    assert (by_line[5].field, by_line[5].source) == ("kind", str(path))
    assert by_line[5].fix is not None and "troubleshooting" in by_line[5].fix


def test_jsonl_line_that_is_not_an_object_is_a_problem(tmp_path: Path) -> None:
    path = write(tmp_path / "x.jsonl", json.dumps(record(id="kb-1")) + "\n[1, 2]\n")

    result = load_file(path)

    assert [a.id for a in result.articles] == ["kb-1"]
    [problem] = result.problems
    assert problem.line == 2 and problem.message.startswith("expected an object")


# --------------------------------------------------------------------------- success plans
def test_success_plan_yaml_single(tmp_path: Path) -> None:
    path = write_plan(tmp_path)

    result = load_file(path)

    assert result.problems == []
    [(plan, source)] = result.plans
    assert (plan.account_id, plan.stage, source) == ("acct-9001", Stage.proficiency, str(path))
    assert plan.products[0].since == dt.date(2026, 3, 1)


def test_success_plan_yaml_list(tmp_path: Path) -> None:
    plans = [make_plan(account_id="acct-1"), make_plan(account_id="acct-2")]
    path = write(tmp_path / "plans.yaml", yaml.safe_dump(plans))

    result = load_file(path)

    assert result.problems == []
    assert [p.account_id for p, _ in result.plans] == ["acct-1", "acct-2"]


@pytest.mark.parametrize("wrap", [False, True], ids=["object", "success_plans-key"])
def test_success_plan_json(tmp_path: Path, wrap: bool) -> None:
    plan = make_plan(account_id="acct-5")
    path = write(tmp_path / "plan.json", json.dumps({"success_plans": [plan]} if wrap else plan))

    result = load_file(path)

    assert result.problems == [] and result.articles == []
    assert [p.account_id for p, _ in result.plans] == ["acct-5"]


def test_success_plan_bad_value_names_file_field_line_and_fix(tmp_path: Path) -> None:
    path = write_plan(tmp_path, segment="enterprise")

    problem = only_problem(load_file(path))

    assert (problem.source, problem.field) == (str(path), "segment")
    assert problem.line == line_of(path, "segment:")
    assert problem.fix == "use one of 'b2b' or 'b2c'"


def test_success_plan_impossible_date_names_the_nested_field(tmp_path: Path) -> None:
    path = write(
        tmp_path / "p.yaml",
        (
            "account_id: acct-1\nname: X\nsegment: b2b\n"
            "products: [{product: ledgerly, plan: pro, since: 2026-02-30}]\nstage: learning\n"
        ),
    )

    problem = only_problem(load_file(path))

    assert (problem.field, problem.line) == ("products[0].since", 4)
    assert problem.fix == "write the date as YYYY-MM-DD"


def test_success_plan_list_item_problem_names_its_index(tmp_path: Path) -> None:
    plans = [make_plan(account_id="acct-1"), make_plan(account_id="acct-2", stage="done")]
    path = write(tmp_path / "plans.yaml", yaml.safe_dump(plans))

    result = load_file(path)

    assert [p.account_id for p, _ in result.plans] == ["acct-1"]
    [problem] = result.problems
    assert problem.field == "[1].stage"


def test_yaml_without_account_id_is_not_taken_for_a_plan(tmp_path: Path) -> None:
    path = write(tmp_path / "notes.yaml", "title: something\n")

    problem = only_problem(load_file(path))

    assert (problem.source, problem.field) == (str(path), "account_id")
    assert problem.fix is not None and "Markdown" in problem.fix


# --------------------------------------------------------------------------- discovery
def test_discover_skips_readme_catalog_sidecars_and_hidden_files(tmp_path: Path) -> None:
    article = write_article(tmp_path / "kb")
    plan = write_plan(tmp_path / "plans")
    write(tmp_path / "README.md", "# Knowledge\n")
    write(tmp_path / "plans" / "README.md", "# Plans\n")
    write(tmp_path / "catalog.yaml", "products: {}\n")
    page = write(tmp_path / "kb" / "page.html", HTML_PAGE)
    write_sidecar(page, kind="faq")
    write(tmp_path / "kb" / ".draft.md", "---\n")
    write(tmp_path / ".git" / "x.md", "---\n")
    write(tmp_path / "kb" / "image.png", "")

    files, problems = discover([tmp_path])

    assert files == sorted([article, plan, page])
    assert problems == []


def test_missing_path_is_a_problem(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"

    result = load_paths([missing, write_article(tmp_path / "kb")])

    assert [a.id for a in result.articles] == ["kb-9001"]
    [problem] = result.problems
    assert (problem.source, problem.message) == (str(missing), "no such file or folder")
    assert result.failed_files == {str(missing)}


def test_folder_with_good_and_bad_files_loads_the_good_and_lists_exactly_the_bad(
    tmp_path: Path,
) -> None:
    good_article = write_article(tmp_path, id="kb-0001")
    good_plan = write_plan(tmp_path)
    bad_article = write_article(tmp_path, id="kb-0002", kind="tutorial")
    bad_json = write(tmp_path / "broken.json", "{not json")

    result = load_paths([tmp_path])

    assert result.files == 4
    assert [a.id for a in result.articles] == ["kb-0001"]
    assert [src for _, src in result.plans] == [str(good_plan)]
    assert result.failed_files == {str(bad_article), str(bad_json)}
    assert str(good_article) not in result.failed_files
    assert {p.source for p in result.problems} == {str(bad_article), str(bad_json)}


def test_rename_sources_replaces_temporary_paths_everywhere(tmp_path: Path) -> None:
    good = write_article(tmp_path, id="kb-0001")
    bad = write_article(tmp_path, id="kb-0002", kind="tutorial")
    result = load_paths([tmp_path])

    result.rename_sources({str(good): "good.md", str(bad): "bad.md"})

    assert result.articles[0].source == "good.md"
    assert result.problems[0].source == "bad.md"
    assert result.failed_files == {"bad.md"}


def test_failures_are_counted_once_per_item_and_by_kind(tmp_path: Path) -> None:
    write_article(tmp_path, id="kb-1", kind="guide", products=["Bad Slug"])  # 2 problems, 1 item
    write_plan(tmp_path, account_id="acct-1", stage="expert")
    (tmp_path / "export.jsonl").write_text(
        '{"id": "kb-2", "title": "t", "kind": "faq", "products": ["x"], "body": "b"}\n'
        '{"id": "kb-3", "title": "t", "kind": "nope", "products": ["x"], "body": "b"}\n'
        "{not json\n",
        encoding="utf-8",
    )
    loaded = load_paths([tmp_path])
    assert len(loaded.problems) == 5
    assert loaded.failed_articles == 3  # kb-1, kb-3, the unparseable line
    assert loaded.failed_plans == 1
    assert [a.id for a in loaded.articles] == ["kb-2"]
