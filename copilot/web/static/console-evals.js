// The QA console: runs grouped by suite, a run's HTML report, and the comparison of two runs.
import { api, el } from "./api.js";

const $ = (id) => document.getElementById(id);
const HEADLINE = [
  ["resolution.hit@1", "hit@1"],
  ["resolution.recall@5", "recall@5"],
  ["value.types.f1", "value F1"],
  ["hold.accuracy", "hold acc."],
  ["safety.forbidden_citation_rate", "forbidden"],
  ["latency.p95_ms", "p95 ms"],
];

function say(node, text, tone = "") {
  node.textContent = text;
  node.className = `status ${tone}`.trim();
}

const fmt = (v, digits = 3) => (v === null || v === undefined ? "–" : Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(digits));
const when = (iso) => new Date(iso).toISOString().slice(0, 16).replace("T", " ");

function table(columns, rows) {
  return el(
    "table",
    {},
    el("thead", {}, el("tr", {}, columns.map(([label, cls]) => el("th", { scope: "col", class: cls, text: label })))),
    el("tbody", {}, rows.map((cells) => el("tr", {}, cells.map(([value, cls]) => el("td", { class: cls }, value ?? ""))))),
  );
}

function showReport(runId) {
  const url = `/console/evals/runs/${encodeURIComponent(runId)}/report`;
  $("report").src = url;
  $("report-link").href = url;
  $("report-title").textContent = `Run report: ${runId}`;
  $("report-box").hidden = false;
  $("report-box").scrollIntoView({ block: "start" });
}

async function loadRuns() {
  const status = $("runs-status");
  try {
    const runs = await api("/v1/evals/runs?limit=200");
    if (!runs.length) {
      say(status, "No runs yet: run `copilot eval run evals/suites/sample` and they appear here.");
      return;
    }
    say(status, `${runs.length} run(s).`);
    const bySuite = new Map();
    for (const r of runs) bySuite.set(r.suite, [...(bySuite.get(r.suite) ?? []), r]);
    $("runs").replaceChildren(
      ...[...bySuite].map(([suite, list]) =>
        el(
          "section",
          { class: "suite", "aria-label": `Suite ${suite}` },
          el("h3", { text: `${suite} (${list.length} run${list.length === 1 ? "" : "s"})` }),
          el(
            "div",
            { class: "table-wrap" },
            table(
              [["Run"], ["When"], ["Split"], ["Cases", "num"], ...HEADLINE.map(([, label]) => [label, "num"]), ["Gate"], ["Report"]],
              list.map((r) => [
                [el("span", {}, r.run_id, r.is_baseline ? el("span", { class: "tag good", text: "baseline" }) : null)],
                [when(r.created_at)],
                [r.split ?? "all"],
                [String(r.cases), "num"],
                ...HEADLINE.map(([key]) => [fmt(r.metrics[key]), "num"]),
                [r.passed === null ? "–" : el("span", { class: r.passed ? "pass" : "fail", text: r.passed ? "passed" : "failed" })],
                [el("button", { type: "button", text: "View", "aria-label": `View the report of ${r.run_id}`, onclick: () => showReport(r.run_id) })],
              ]),
            ),
          ),
        ),
      ),
    );
    for (const [select, index] of [[$("run-a"), 0], [$("run-b"), 1]]) {
      select.replaceChildren(...runs.map((r) => el("option", { value: r.run_id, text: `${r.suite} · ${r.run_id}` })));
      if (runs[index]) select.value = runs[index].run_id;
    }
    const baseline = runs.find((r) => r.is_baseline && r.run_id !== $("run-a").value);
    if (baseline) $("run-b").value = baseline.run_id;
  } catch (err) {
    say(status, `Runs could not be loaded: ${err.message}`, "error");
  }
}

$("compare-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const a = $("run-a").value;
  const b = $("run-b").value;
  const status = $("compare-status");
  if (!a || !b || a === b) {
    say(status, "Pick two different runs.", "error");
    return;
  }
  say(status, "Comparing (bootstrap over the common cases)…", "busy");
  try {
    const c = await api(`/v1/evals/compare?${new URLSearchParams({ a, b })}`);
    say(status, `${c.common_cases} common case(s).`, "ok");
    const fates = c.cases.reduce((acc, x) => ({ ...acc, [x.fate]: (acc[x.fate] ?? 0) + 1 }), {});
    const changed = c.cases.filter((x) => x.fate === "degraded" || x.fate === "improved").sort((x, y) => (x.fate === y.fate ? 0 : x.fate === "degraded" ? -1 : 1));
    $("comparison").replaceChildren(
      ...c.warnings.map((w) => el("p", { class: "status error", text: w })),
      el("div", { class: "counts" }, Object.entries(fates).map(([fate, n]) => el("span", { class: `tag ${fate === "degraded" ? "bad" : fate === "improved" ? "good" : ""}`, text: `${fate}: ${n}` }))),
      el(
        "div",
        { class: "table-wrap" },
        table(
          [["Metric"], ["A", "num"], ["B", "num"], ["A − B", "num"], ["95% interval", "num"], ["Verdict"]],
          c.metrics.map((m) => [
            [m.metric],
            [fmt(m.a), "num"],
            [fmt(m.b), "num"],
            [m.delta === null ? "–" : (m.delta > 0 ? "+" : "") + fmt(m.delta), "num"],
            [m.low === null ? "–" : `${fmt(m.low)} … ${fmt(m.high)}`, "num"],
            [m.better === null ? "same" : el("span", { class: m.better ? "better" : "worse", text: `${m.better ? "better" : "worse"}${m.significant ? " (significant)" : ""}` })],
          ]),
        ),
      ),
      changed.length
        ? el("details", { class: "more", open: true }, el("summary", { text: `${changed.length} case(s) changed` }), el("ul", {}, changed.map((x) => el("li", {}, el("span", { class: x.fate === "degraded" ? "worse" : "better", text: x.fate }), ` ${x.case_id}${x.detail ? `: ${x.detail}` : ""}`))))
        : el("p", { class: "hint", text: "No case changed its outcome." }),
    );
  } catch (err) {
    say(status, `Could not compare: ${err.message}`, "error");
  }
});

loadRuns();
