// The knowledge console: upload with progress and per-file errors, articles by status, kind
// and product, coverage of the catalog, and knowledge gaps with a draft article to start from.
import { api, describe, el, headers } from "./api.js";

const $ = (id) => document.getElementById(id);

function say(node, text, tone = "") {
  node.textContent = text;
  node.className = `status ${tone}`.trim();
}

function table(columns, rows, attrs = {}) {
  return el(
    "table",
    attrs,
    el("thead", {}, el("tr", {}, columns.map((c) => el("th", { scope: "col", text: c })))),
    el("tbody", {}, rows.map((cells) => el("tr", {}, cells.map((c) => el("td", {}, c ?? ""))))),
  );
}

// ------------------------------------------------------------------ upload
function upload(files) {
  const form = new FormData();
  for (const file of files) form.append("files", file, file.name);
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/v1/knowledge/ingest?partial=true");
    for (const [k, v] of Object.entries(headers())) xhr.setRequestHeader(k, v);
    xhr.upload.addEventListener("progress", (e) => {
      if (!e.lengthComputable) return;
      const percent = Math.round((100 * e.loaded) / e.total);
      $("progress").value = percent;
      $("progress-label").textContent = percent < 100 ? `Uploading ${percent}%` : "Ingesting (validating, chunking, embedding)…";
    });
    xhr.addEventListener("load", () => {
      let body = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        /* not JSON */
      }
      if (xhr.status >= 200 && xhr.status < 300 && body) resolve(body);
      else reject(new Error(describe(body?.detail) || `the server answered ${xhr.status}`));
    });
    xhr.addEventListener("error", () => reject(new Error("the server cannot be reached")));
    xhr.send(form);
  });
}

function renderReport(report) {
  const a = report.articles;
  const p = report.success_plans;
  const counts = el(
    "div",
    { class: "counts" },
    el("span", { class: "tag", text: `${report.files} file(s)` }),
    el("span", { class: "tag good", text: `articles: ${a.added} added, ${a.updated} updated, ${a.unchanged} unchanged` }),
    el("span", { class: "tag good", text: `success plans: ${p.added} added, ${p.updated} updated` }),
    report.errors.length ? el("span", { class: "tag bad", text: `${report.skipped.length} file(s) skipped` }) : null,
  );
  const parts = [counts];
  if (report.errors.length) {
    parts.push(
      el("h3", { text: "Files that need fixing" }),
      el(
        "div",
        { class: "table-wrap" },
        table(
          ["File", "Line", "Field", "Problem", "Fix"],
          report.errors.map((e) => [e.source?.replace(/^upload:/, ""), e.line ?? "", e.field ?? "", e.message, e.fix ?? ""]),
          { class: "errors" },
        ),
      ),
    );
  }
  if (report.warnings.length) {
    parts.push(el("details", { class: "more" }, el("summary", { text: `${report.warnings.length} warning(s)` }), el("ul", {}, report.warnings.map((w) => el("li", { text: describe([w]) })))));
  }
  $("upload-report").replaceChildren(...parts);
}

$("upload-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const files = [...$("files").files];
  const status = $("upload-status");
  if (!files.length) {
    say(status, "Choose one or more files first.", "error");
    return;
  }
  const button = event.submitter ?? event.target.querySelector("button");
  button.disabled = true;
  $("progress-row").hidden = false;
  $("progress").value = 0;
  $("upload-report").replaceChildren();
  say(status, `Uploading ${files.length} file(s)…`, "busy");
  try {
    const report = await upload(files);
    renderReport(report);
    say(status, report.ok ? "Ingested." : "Ingested the good files; some need fixing (below).", report.ok ? "ok" : "error");
    loadArticles();
    loadCoverage();
  } catch (err) {
    say(status, `Upload failed: ${err.message}`, "error");
  } finally {
    button.disabled = false;
    $("progress-row").hidden = true;
  }
});

// ------------------------------------------------------------------ articles
async function loadArticles() {
  const query = new URLSearchParams([...new FormData($("article-filters"))].filter(([, v]) => v));
  const status = $("articles-status");
  try {
    const articles = await api(`/v1/knowledge/articles?${query}`);
    say(status, `${articles.length} article(s).`);
    $("articles").replaceChildren(
      table(
        ["Id", "Title", "Kind", "Status", "Products", "Updated"],
        articles.map((a) => [
          a.id,
          a.url && /^https?:/.test(a.url) ? el("a", { href: a.url, target: "_blank", rel: "noopener noreferrer", text: a.title }) : a.title,
          a.kind.replace("_", " "),
          el("span", { class: `tag ${a.status === "published" ? "good" : ""}`, text: a.status }),
          a.products.join(", "),
          a.updated ?? "",
        ]),
      ),
    );
  } catch (err) {
    say(status, `Articles could not be loaded: ${err.message}`, "error");
  }
}
$("article-filters").addEventListener("change", loadArticles);

// ------------------------------------------------------------------ coverage
const MOVE_LABELS = {
  validate_purchase: "validate purchase",
  anticipate_needs: "anticipate needs",
  achieve_goal: "achieve goal",
  educate_better_use: "educate better use",
  advise_new_use: "advise new use",
};

async function loadCoverage() {
  const status = $("coverage-status");
  try {
    const products = await api("/v1/knowledge/coverage");
    const select = $("product-filter");
    const chosen = select.value;
    select.replaceChildren(el("option", { value: "", text: "any" }), ...products.map((p) => el("option", { value: p.product, text: p.name })));
    select.value = chosen;
    say(status, products.length ? "" : "No products yet: ingest a knowledge folder with a catalog.yaml.");
    $("coverage").replaceChildren(
      ...products.map((p) => {
        const gaps = p.features.filter((f) => f.missing.length);
        const complete = p.features.length - gaps.length;
        return el(
          "div",
          { class: "product-coverage" },
          el("h3", { text: `${p.name}: ${gaps.length} of ${p.features.length} features have gaps` }),
          el("div", { class: "moves", "aria-label": "Articles per value move" }, Object.entries(p.by_value_type).map(([move, n]) => el("span", { class: `tag ${n ? "" : "bad"}`, text: `${MOVE_LABELS[move] ?? move}: ${n}` }))),
          el(
            "div",
            { class: "table-wrap" },
            table(
              ["Feature", "Tier", "How-to", "Best practice", "Value proof"],
              gaps.map((f) => [
                f.feature,
                f.tier ?? "not in catalog",
                ...["how_to", "best_practice", "value_proof"].map((k) => (f.articles[k].length ? f.articles[k].join(", ") : el("span", { class: "tag bad", text: "missing" }))),
              ]),
            ),
          ),
          complete ? el("p", { class: "hint", text: `${complete} feature(s) have all three.` }) : null,
        );
      }),
    );
  } catch (err) {
    say(status, `Coverage could not be loaded: ${err.message}`, "error");
  }
}

// ------------------------------------------------------------------ gaps
async function loadGaps() {
  const status = $("gaps-status");
  try {
    const topics = await api("/v1/knowledge/gaps");
    if (!topics.length) {
      say(status, "No gaps: every recent case had a grounded, confident answer.");
      return;
    }
    say(status, `${topics.length} topic(s).`);
    $("gaps").replaceChildren(...topics.map(topic));
  } catch (err) {
    say(status, `Gaps could not be loaded: ${err.message}`, "error");
  }
}

function topic(t, index) {
  const draftId = `draft-${index}`;
  const area = el("textarea", { id: draftId, rows: "16", "aria-label": `Draft article for ${t.topic}` });
  area.value = t.draft;
  const note = el("p", { class: "status", role: "status" });
  const box = el(
    "div",
    { class: "draft", hidden: true },
    area,
    el(
      "div",
      { class: "actions" },
      el("button", {
        type: "button",
        text: "Copy draft",
        onclick: async () => {
          try {
            await navigator.clipboard.writeText(area.value);
            say(note, "Copied.", "ok");
          } catch {
            area.select();
            say(note, "Selected: press Ctrl+C to copy.");
          }
        },
      }),
      el("button", {
        type: "button",
        text: "Download .md",
        onclick: () => {
          const id = /^id:\s*(\S+)/m.exec(area.value)?.[1] ?? "draft";
          const link = el("a", { href: `data:text/markdown;charset=utf-8,${encodeURIComponent(area.value)}`, download: `${id}.md` });
          document.body.append(link);
          link.click();
          link.remove();
        },
      }),
    ),
    note,
  );
  const toggle = el("button", { type: "button", class: "primary", text: "Draft an article", "aria-expanded": "false", "aria-controls": draftId });
  toggle.addEventListener("click", () => {
    box.hidden = !box.hidden;
    toggle.setAttribute("aria-expanded", String(!box.hidden));
    if (!box.hidden) area.focus();
  });
  return el(
    "div",
    { class: "topic" },
    el("h3", { text: t.topic }),
    el(
      "div",
      { class: "counts" },
      t.product ? el("span", { class: "tag", text: t.product }) : null,
      el("span", { class: "tag", text: `${t.cases.length} case(s)` }),
      t.no_answer ? el("span", { class: "tag bad", text: `${t.no_answer} with no grounded answer` }) : null,
      t.low_confidence ? el("span", { class: "tag", text: `${t.low_confidence} with low confidence` }) : null,
    ),
    el("ul", {}, t.cases.map((c) => el("li", { text: `${c.subject} (${c.case_id}${c.grounded ? `, confidence ${c.confidence.toFixed(2)}, cited ${c.nearest_article}` : ", no grounded answer"})` }))),
    toggle,
    box,
  );
}

loadArticles();
loadCoverage();
loadGaps();
