// The side panel: the resolution first, then other articles, then value suggestions as they
// stream, with every agent action recorded through the feedback API. Data is only ever set as
// text (textContent), never parsed as HTML.
import { ApiError, api, describe, el, headers, safeHref } from "./api.js";
import { HOST_TO_PANEL, envelope, originOf, parse } from "./bridge.js";

const TYPE_LABELS = {
  validate_purchase: "Validate the purchase",
  anticipate_needs: "Anticipate a need",
  achieve_goal: "Reach a goal",
  educate_better_use: "A better way",
  advise_new_use: "Something new",
};
const DISMISS_REASONS = [
  ["irrelevant", "Irrelevant"],
  ["incorrect", "Incorrect"],
  ["too_generic", "Too generic"],
  ["wrong_timing", "Wrong timing"],
  ["other", "Other"],
];
const INSERT_TIMEOUT_MS = 5000;

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const allowed = new Set([
  location.origin,
  ...(document.querySelector('meta[name="copilot-allowed-origins"]')?.content ?? "").split(/\s+/).filter(Boolean),
]);
const embedded = window.parent !== window;

const state = {
  hostOrigin: null, // where messages to the host go: always an explicit, allowed origin
  run: 0, // increments per case; late answers of an older case are ignored
  suggestionId: null,
  whenSuggestion: null,
  resolveSuggestion: null,
  abort: null,
  pendingInserts: new Map(),
  agentId: null,
  started: 0,
};

// ------------------------------------------------------------------ host bridge
function findHostOrigin() {
  if (!embedded) return null;
  const candidates = [params.get("host_origin"), originOf(document.referrer), location.ancestorOrigins?.[0]];
  return candidates.find((o) => o && allowed.has(o)) ?? null;
}

function post(type, payload, replyTo = null) {
  if (!state.hostOrigin) return false;
  window.parent.postMessage(envelope(type, payload, replyTo), state.hostOrigin);
  return true;
}

window.addEventListener("message", (event) => {
  if (!embedded || event.source !== window.parent || !allowed.has(event.origin)) return;
  const message = parse(event.data, HOST_TO_PANEL);
  if (!message) return;
  state.hostOrigin = event.origin;
  if (message.type === "context.update") loadCase(message.payload);
  else if (message.type === "insert.result") insertAnswered(message);
});

let lastHeight = 0;
const resizeObserver = new ResizeObserver(() => {
  const height = Math.ceil(document.documentElement.scrollHeight);
  if (height !== lastHeight) {
    lastHeight = height;
    post("resize", { height });
  }
});

// ------------------------------------------------------------------ feedback
function newSuggestionPromise() {
  state.whenSuggestion = new Promise((resolve) => {
    state.resolveSuggestion = resolve;
  });
}

async function record(itemId, event, extra = {}, statusNode = null) {
  const run = state.run;
  const suggestionId = await state.whenSuggestion;
  if (run !== state.run || !suggestionId) return null;
  try {
    return await api(`/v1/suggestions/${encodeURIComponent(suggestionId)}/feedback`, {
      method: "POST",
      body: { item_id: itemId, event, agent_id: state.agentId ?? undefined, ...extra },
    });
  } catch (err) {
    if (statusNode) say(statusNode, `Not recorded: ${err.message}`, "error");
    return null;
  }
}

function say(node, text, tone = "") {
  node.textContent = text;
  node.className = `status ${tone}`.trim();
}

// ------------------------------------------------------------------ case lifecycle
function resetView(caseInfo) {
  state.run += 1;
  state.abort?.abort();
  state.abort = null;
  state.suggestionId = null;
  newSuggestionPromise();
  state.pendingInserts.clear();
  for (const id of ["hold", "resolution", "alternatives", "values", "held-values", "expansion"]) {
    $(id).replaceChildren();
    $(id).hidden = true;
  }
  $("empty").hidden = true;
  $("error").hidden = true;
  delete document.documentElement.dataset.resolutionMs;
  delete document.documentElement.dataset.firstValueMs;
  document.documentElement.dataset.state = "loading";
  $("case-line").textContent = caseInfo ? `Case ${caseInfo.case_id}${caseInfo.subject ? ` · ${caseInfo.subject}` : ""}` : "";
  say($("live"), "Finding the answer…", "busy");
}

function showError(message) {
  document.documentElement.dataset.state = "error";
  $("error").hidden = false;
  $("error").replaceChildren(
    el("h2", { text: "Something went wrong" }),
    el("p", { text: message }),
    el("button", { type: "button", text: "Try again", onclick: () => retry() }),
  );
  say($("live"), "Error", "error");
}

let lastCase = null;
function retry() {
  if (lastCase) loadCase(lastCase);
  else if (params.get("case_id")) loadStored(params.get("case_id"));
}

async function loadCase(caseData) {
  lastCase = caseData;
  state.agentId = caseData.agent_id ?? null;
  state.started = performance.now();
  resetView(caseData);
  const run = state.run;
  const controller = new AbortController();
  state.abort = controller;
  let response;
  try {
    response = await fetch("/v1/suggestions/stream", {
      method: "POST",
      headers: headers({ "Content-Type": "application/json", Accept: "text/event-stream" }),
      body: JSON.stringify(caseData),
      signal: controller.signal,
    });
  } catch (err) {
    if (err.name !== "AbortError" && run === state.run) showError("The Value Copilot server cannot be reached; check that it is running.");
    return;
  }
  if (!response.ok) {
    let detail = `the server answered ${response.status}`;
    try {
      detail = describe((await response.json()).detail) || detail;
    } catch {
      /* not JSON: keep the status */
    }
    if (run === state.run) showError(`The case could not be read: ${detail}`);
    return;
  }
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let done = false;
  const counts = { values: 0, held: 0 };
  try {
    for (;;) {
      const chunk = await reader.read();
      if (chunk.done) break;
      if (run !== state.run) return;
      buffer += decoder.decode(chunk.value, { stream: true });
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const event = parseEvent(block);
        if (!event) continue;
        if (event.name === "resolution") renderResolution(event.data);
        else if (event.name === "hold") renderHold(event.data, 0, false);
        else if (event.name === "value") {
          renderValue(event.data, counts);
        } else if (event.name === "done") {
          done = true;
          finish(event.data, counts);
        }
      }
    }
  } catch (err) {
    if (err.name === "AbortError" || run !== state.run) return;
    showError("The connection to the server was lost before the answer was complete.");
    return;
  }
  if (!done && run === state.run) showError("The server ended the answer early; try again.");
}

function parseEvent(block) {
  let name = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (line.startsWith("event:")) name = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
  }
  if (!data.length) return null;
  try {
    return { name, data: JSON.parse(data.join("\n")) };
  } catch {
    return null;
  }
}

async function loadStored(caseId) {
  state.started = performance.now();
  resetView({ case_id: caseId });
  const run = state.run;
  try {
    const stored = await api(`/v1/cases/${encodeURIComponent(caseId)}`);
    if (run !== state.run) return;
    lastCase = stored.case;
    state.agentId = stored.case?.agent_id ?? null;
    if (stored.case) $("case-line").textContent = `Case ${caseId}${stored.case.subject ? ` · ${stored.case.subject}` : ""}`;
    const s = stored.suggestion;
    renderResolution(s.resolution);
    const counts = { values: 0, held: 0 };
    for (const v of s.value_suggestions) renderValue({ ...v, held: v.held || (s.hold !== null && v.held === undefined) }, counts);
    finish({ suggestion_id: s.suggestion_id, hold: s.hold, expansion_signals: s.expansion_signals }, counts, stored.feedback);
  } catch (err) {
    if (run !== state.run) return;
    if (err instanceof ApiError && err.status === 404) {
      document.documentElement.dataset.state = "empty";
      $("empty").hidden = false;
      $("empty").replaceChildren(el("h2", { text: "Nothing for this case yet" }), el("p", { text: err.message }));
      say($("live"), "");
    } else showError(err.message);
  }
}

// ------------------------------------------------------------------ rendering
function confidenceWords(value) {
  const level = value >= 0.7 ? "High" : value >= 0.4 ? "Medium" : "Low";
  return { text: `${level} confidence`, title: `confidence ${value.toFixed(2)}`, level: level.toLowerCase() };
}

function confidenceTag(value) {
  const c = confidenceWords(value);
  return el("span", { class: `confidence ${c.level}`, title: c.title, text: c.text });
}

function citationList(citations, itemId, label = "Sources") {
  if (!citations?.length) return null;
  const seen = new Set();
  const items = [];
  for (const c of citations) {
    const key = c.article_id;
    if (seen.has(key)) continue;
    seen.add(key);
    items.push(el("li", {}, articleLink(c.title || c.article_id, c.url, itemId)));
  }
  return el("div", { class: "citations" }, el("h4", { text: label }), el("ul", {}, items));
}

function articleLink(title, url, itemId) {
  const href = safeHref(url);
  if (!href) return el("span", { class: "article", text: title });
  return el("a", {
    href,
    target: "_blank",
    rel: "noopener noreferrer",
    text: title,
    onclick: () => record(itemId, "citation_clicked", { url: href }),
  });
}

function grounded(resolution) {
  return Boolean(resolution.steps?.length || resolution.citations?.length);
}

function resolutionText(resolution) {
  const steps = (resolution.steps ?? []).map((s, i) => `${i + 1}. ${s.text}`);
  return [resolution.summary, ...steps].join("\n");
}

function renderResolution(resolution) {
  if (document.documentElement.dataset.resolutionMs === undefined) {
    document.documentElement.dataset.resolutionMs = String(Math.round(performance.now() - state.started));
  }
  document.documentElement.dataset.state = "resolution";
  say($("live"), "Resolution ready; looking for value suggestions…", "busy");
  const section = $("resolution");
  const isGrounded = grounded(resolution);
  const status = el("p", { class: "status", role: "status" });
  const body = [
    el("div", { class: "section-head" }, el("h2", { text: "Resolution" }), isGrounded ? confidenceTag(resolution.confidence) : null),
  ];
  if (!isGrounded) {
    section.classList.add("no-answer");
    body.push(
      el("p", { class: "no-answer-title", text: "No grounded answer" }),
      el("p", { class: "summary", text: resolution.summary }),
      el("p", { class: "hint", text: "Nothing in the knowledge base answers this closely enough. Check the other articles below, or escalate." }),
    );
  } else {
    section.classList.remove("no-answer");
    body.push(el("p", { class: "summary", text: resolution.summary }));
    if (resolution.steps?.length) {
      body.push(el("ol", { class: "steps" }, resolution.steps.map((s) => el("li", { text: s.text }))));
    }
    body.push(citationList(resolution.citations, "resolution"));
    const text = resolutionText(resolution);
    body.push(
      el(
        "div",
        { class: "actions" },
        el("button", { type: "button", class: "primary", text: "Insert", "aria-label": "Insert the resolution into the reply", onclick: () => requestInsert(text, text, "resolution", status) }),
        el("button", { type: "button", text: "Copy", "aria-label": "Copy the resolution", onclick: () => copy(text, "resolution", status) }),
      ),
      status,
    );
  }
  section.replaceChildren(...body.filter(Boolean));
  section.hidden = false;
  renderAlternatives(resolution.alternatives ?? []);
}

function renderAlternatives(alternatives) {
  const section = $("alternatives");
  if (!alternatives.length) {
    section.hidden = true;
    return;
  }
  section.replaceChildren(
    el("h2", { text: "Other articles" }),
    el(
      "ul",
      { class: "alternatives" },
      alternatives.map((a) => el("li", {}, articleLink(a.title || a.article_id, a.url, "resolution"), a.passage ? el("p", { class: "passage", text: a.passage }) : null)),
    ),
  );
  section.hidden = false;
}

function renderValue(value, counts) {
  const held = value.held === true;
  if (!held && document.documentElement.dataset.firstValueMs === undefined) {
    document.documentElement.dataset.firstValueMs = String(Math.round(performance.now() - state.started));
  }
  const container = held ? $("held-values") : $("values");
  if (!container.querySelector("h2")) {
    container.append(el("h2", { text: held ? "Held suggestions" : "Worth saying" }));
  }
  container.append(card(value));
  if (held) counts.held += 1;
  else {
    counts.values += 1;
    container.hidden = false;
  }
}

function card(value) {
  const titleId = `v-${value.id}-title`;
  const status = el("p", { class: "status", role: "status" });
  const message = el("p", { class: "message", text: value.message });
  const editor = el("textarea", { class: "editor", rows: "6", "aria-label": "Edit the draft before inserting", hidden: true });
  editor.value = value.message;
  const current = () => (editor.hidden ? value.message : editor.value.trim());
  const edit = el("button", { type: "button", text: "Edit", "aria-expanded": "false" });
  edit.addEventListener("click", () => {
    const opening = editor.hidden;
    editor.hidden = !opening;
    message.hidden = opening;
    edit.setAttribute("aria-expanded", String(opening));
    edit.textContent = opening ? "Done editing" : "Edit";
    if (opening) editor.focus();
    else message.textContent = editor.value.trim() || value.message;
  });
  const up = el("button", { type: "button", class: "thumb", "aria-pressed": "false", text: "Helpful" });
  const down = el("button", { type: "button", class: "thumb", "aria-pressed": "false", text: "Not helpful" });
  const rate = (button, other, event) => {
    if (button.getAttribute("aria-pressed") === "true") return;
    button.setAttribute("aria-pressed", "true");
    other.setAttribute("aria-pressed", "false");
    record(value.id, event, {}, status).then((r) => r && say(status, "Thanks: rating recorded."));
  };
  up.addEventListener("click", () => rate(up, down, "thumbs_up"));
  down.addEventListener("click", () => rate(down, up, "thumbs_down"));

  const dismissToggle = el("button", { type: "button", text: "Dismiss", "aria-expanded": "false" });
  const form = dismissForm(value, status);
  dismissToggle.setAttribute("aria-controls", form.id);
  dismissToggle.addEventListener("click", () => {
    form.hidden = !form.hidden;
    dismissToggle.setAttribute("aria-expanded", String(!form.hidden));
    if (!form.hidden) form.querySelector("input")?.focus();
  });

  const node = el(
    "article",
    { class: "card", "aria-labelledby": titleId, dataset: { itemId: value.id, type: value.type } },
    el("div", { class: "card-head" }, el("span", { class: `badge ${value.type}`, text: TYPE_LABELS[value.type] ?? value.type }), confidenceTag(value.confidence)),
    el("h3", { id: titleId, text: value.headline }),
    message,
    editor,
    el("p", { class: "why" }, el("strong", { text: "Why now: " }), value.rationale),
    citationList(value.citations, value.id),
    el(
      "div",
      { class: "actions" },
      el("button", { type: "button", class: "primary", text: "Insert", onclick: () => requestInsert(current(), value.message, value.id, status) }),
      el("button", { type: "button", text: "Copy", onclick: () => copy(current(), value.id, status) }),
      edit,
      up,
      down,
      dismissToggle,
    ),
    form,
    status,
  );
  return node;
}

function dismissForm(value, status) {
  const name = `reason-${value.id}`;
  const other = el("input", { type: "text", class: "other-note", "aria-label": "Other reason", placeholder: "What was wrong?", hidden: true });
  const radios = DISMISS_REASONS.map(([code, label], i) =>
    el(
      "label",
      { class: "reason" },
      el("input", { type: "radio", name, value: code, checked: i === 0, onchange: () => (other.hidden = code !== "other") }),
      label,
    ),
  );
  const form = el(
    "form",
    { class: "dismiss", id: `dismiss-${value.id}`, hidden: true },
    el("fieldset", {}, el("legend", { text: "Why dismiss it?" }), radios, other),
    el("div", { class: "actions" }, el("button", { type: "submit", class: "danger", text: "Dismiss suggestion" })),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const code = new FormData(form).get(name) ?? "other";
    const reason = code === "other" && other.value.trim() ? `other: ${other.value.trim()}` : code;
    const result = await record(value.id, "dismissed", { reason }, status);
    if (result) markDismissed(value.id, reason);
  });
  return form;
}

function markDismissed(itemId, reason) {
  const node = document.querySelector(`.card[data-item-id="${CSS.escape(itemId)}"]`);
  if (!node) return;
  const label = DISMISS_REASONS.find(([code]) => reason.startsWith(code))?.[1] ?? reason;
  node.classList.add("dismissed");
  const headline = node.querySelector("h3")?.textContent ?? "";
  node.replaceChildren(el("p", { class: "dismissed-note", role: "status" }, el("strong", { text: "Dismissed" }), ` (${label.toLowerCase()}): ${headline}`));
}

function finish(done, counts, feedback = []) {
  const suggestionId = done.suggestion_id;
  state.suggestionId = suggestionId;
  state.resolveSuggestion(suggestionId);
  document.documentElement.dataset.suggestionId = suggestionId;
  const hold = done.hold;
  if (hold) renderHold(hold, counts.held, feedback.some((f) => f.event === "show_anyway"));
  renderExpansion(done.expansion_signals ?? [], feedback);
  if (!counts.values && !hold) {
    $("values").replaceChildren(el("h2", { text: "Worth saying" }), el("p", { class: "hint", text: "No value suggestions for this case." }));
    $("values").hidden = false;
  }
  applyFeedback(feedback);
  document.documentElement.dataset.state = "done";
  say($("live"), hold ? "Held: see why at the top." : `${counts.values} value suggestion${counts.values === 1 ? "" : "s"}.`);
  const shown = new Set(feedback.filter((f) => f.event === "shown").map((f) => f.item_id));
  const visible = [...document.querySelectorAll("#values .card")].map((n) => n.dataset.itemId);
  if ($("resolution").querySelector(".steps, .citations")) visible.unshift("resolution");
  for (const item of visible) if (!shown.has(item)) record(item, "shown");
}

function applyFeedback(feedback) {
  for (const f of feedback) {
    if (f.event === "dismissed") markDismissed(f.item_id, f.reason ?? "other");
    if (f.event === "thumbs_up" || f.event === "thumbs_down") {
      const buttons = document.querySelectorAll(`.card[data-item-id="${CSS.escape(f.item_id)}"] .thumb`);
      buttons.forEach((b, i) => b.setAttribute("aria-pressed", String((i === 0) === (f.event === "thumbs_up"))));
    }
  }
}

function renderHold(hold, heldCount, alreadyShown) {
  const section = $("hold");
  const reveal = el("button", { type: "button", text: heldCount ? `Show anyway (${heldCount})` : "Show anyway", "aria-controls": "held-values", "aria-expanded": "false" });
  const status = el("p", { class: "status", role: "status" });
  const showHeld = () => {
    $("held-values").hidden = false;
    reveal.setAttribute("aria-expanded", "true");
    reveal.disabled = true;
    if (!heldCount) say(status, "Nothing was held back for this case.");
  };
  reveal.addEventListener("click", async () => {
    showHeld();
    await record("hold", "show_anyway", {}, status);
    for (const n of document.querySelectorAll("#held-values .card")) record(n.dataset.itemId, "shown");
  });
  section.replaceChildren(
    el("h2", { text: "Hold value suggestions" }),
    el("p", { class: "hold-reason", text: hold.reason }),
    el("p", { class: "hint", text: "Resolve the issue first; offer these once it lands." }),
    el("div", { class: "actions" }, reveal),
    status,
  );
  section.hidden = false;
  if (alreadyShown) showHeld();
}

function renderExpansion(signals, feedback) {
  const section = $("expansion");
  if (!signals.length) return;
  const sent = new Set(feedback.filter((f) => f.event === "handoff").map((f) => f.item_id));
  section.replaceChildren(
    el("h2", { text: "Tell the success manager" }),
    el("p", { class: "hint", text: "For the account team only; not something to say to the customer." }),
    ...signals.map((s) => {
      const status = el("p", { class: "status", role: "status" });
      const button = el("button", { type: "button", text: "Tell the success manager" });
      if (sent.has(`expansion:${s.feature}`)) {
        button.disabled = true;
        say(status, "Already handed off.");
      }
      button.addEventListener("click", () => handoff(s, button, status));
      return el("div", { class: "signal" }, el("p", { class: "feature", text: `Feature: ${s.feature.replaceAll("_", " ")}` }), el("p", { text: s.reason }), el("div", { class: "actions" }, button), status);
    }),
  );
  section.hidden = false;
}

async function handoff(signal, button, status) {
  button.disabled = true;
  say(status, "Sending…", "busy");
  try {
    const suggestionId = await state.whenSuggestion;
    const result = await api(`/v1/suggestions/${encodeURIComponent(suggestionId)}/handoff`, {
      method: "POST",
      body: { feature: signal.feature, agent_id: state.agentId ?? undefined },
    });
    if (result.delivered === false) say(status, `Recorded, but the success manager was not notified: ${result.error}`, "error");
    else if (result.delivered) say(status, "Sent to the success manager.", "ok");
    else say(status, "Recorded for the success manager (no webhook is configured).", "ok");
  } catch (err) {
    button.disabled = false;
    say(status, `Not recorded: ${err.message}`, "error");
  }
}

// ------------------------------------------------------------------ insert and copy
function requestInsert(text, original, itemId, status) {
  if (!text) {
    say(status, "There is no text to insert.", "error");
    return;
  }
  if (!state.hostOrigin) {
    say(status, "No helpdesk is connected: use Copy instead.", "error");
    return;
  }
  const message = envelope("insert.request", { text, mode: "append" });
  const timer = setTimeout(() => {
    if (state.pendingInserts.delete(message.id)) say(status, "The helpdesk did not confirm the insert.", "error");
  }, INSERT_TIMEOUT_MS);
  state.pendingInserts.set(message.id, { text, original, itemId, status, timer });
  say(status, "Inserting…", "busy");
  window.parent.postMessage(message, state.hostOrigin);
}

async function insertAnswered(message) {
  const pending = state.pendingInserts.get(message.reply_to);
  if (!pending) return;
  state.pendingInserts.delete(message.reply_to);
  clearTimeout(pending.timer);
  if (!message.payload.ok) {
    say(pending.status, `The helpdesk could not insert it: ${message.payload.error || "no reason given"}`, "error");
    return;
  }
  say(pending.status, "Inserted into the reply.", "ok");
  if (pending.text !== pending.original) await record(pending.itemId, "edited", { final_text: pending.text }, pending.status);
  await record(pending.itemId, "inserted", {}, pending.status);
}

async function copy(text, itemId, status) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const area = el("textarea", { class: "offscreen", "aria-hidden": "true" });
    area.value = text;
    document.body.append(area);
    area.select();
    const ok = document.execCommand("copy");
    area.remove();
    if (!ok) {
      say(status, "Copy is blocked here: select the text and copy it by hand.", "error");
      return;
    }
  }
  say(status, "Copied.", "ok");
  record(itemId, "copied", {}, status);
}

// ------------------------------------------------------------------ start
function start() {
  resizeObserver.observe(document.body);
  state.hostOrigin = findHostOrigin();
  const caseId = params.get("case_id");
  if (caseId) loadStored(caseId);
  else {
    document.documentElement.dataset.state = "empty";
    $("empty").hidden = false;
    $("empty").replaceChildren(
      el("h2", { text: embedded ? "Waiting for a case" : "No case open" }),
      el("p", { text: embedded ? "Open a ticket in the helpdesk to see the resolution and what is worth saying." : "Open this panel from a helpdesk, or add ?case_id= for a case the server already holds." }),
    );
  }
  post("ready", { version: 1 });
}

start();
