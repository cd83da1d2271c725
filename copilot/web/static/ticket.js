// One demo ticket, and the host side of the bridge: it sends the case to the panel and puts
// the text the panel asks to insert into the reply box.
import { api, el } from "./api.js";
import { PANEL_TO_HOST, envelope, parse } from "./bridge.js";

const caseId = document.getElementById("layout").dataset.caseId;
const frame = document.getElementById("panel");
const reply = document.getElementById("reply");
const status = document.getElementById("status");
const panelOrigin = location.origin; // the demo serves the panel itself
let ticket = null;

function renderTicket({ requester, case: c }) {
  const messages = c.messages?.length ? c.messages : [{ role: "customer", text: c.description }];
  document.getElementById("ticket-body").replaceChildren(
    el("h1", { text: c.subject || c.case_id }),
    el(
      "div",
      { class: "ticket-meta" },
      [requester, c.product, `priority ${c.priority ?? "normal"}`, c.channel, c.case_id].filter(Boolean).map((t) => el("span", { class: "tag", text: t })),
    ),
    c.messages?.length && c.description ? el("p", { class: "description", text: c.description }) : null,
    el(
      "ol",
      { class: "conversation", "aria-label": "Conversation" },
      messages.map((m) =>
        el("li", { class: m.role ?? "customer" }, el("p", { class: "who", text: m.role === "agent" ? "Agent" : m.role === "system" ? "System" : requester }), el("p", { class: "text", text: m.text })),
      ),
    ),
  );
  document.title = `${c.subject || c.case_id} · Demo helpdesk`;
}

function toPanel(type, payload, replyTo = null) {
  frame.contentWindow.postMessage(envelope(type, payload, replyTo), panelOrigin);
}

window.addEventListener("message", (event) => {
  if (event.source !== frame.contentWindow || event.origin !== panelOrigin) return;
  const message = parse(event.data, PANEL_TO_HOST);
  if (!message) return;
  if (message.type === "ready" && ticket) toPanel("context.update", ticket.case);
  else if (message.type === "insert.request") {
    const { text, mode } = message.payload;
    reply.value = mode === "replace" || !reply.value.trim() ? text : `${reply.value.trimEnd()}\n\n${text}`;
    reply.focus();
    toPanel("insert.result", { ok: true }, message.id);
  } else if (message.type === "resize") {
    frame.style.height = `${Math.max(message.payload.height, 300)}px`;
  }
});

document.getElementById("reply-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const note = document.getElementById("reply-status");
  note.textContent = reply.value.trim() ? "Sent (this demo sends nothing)." : "Write a reply first.";
  note.className = reply.value.trim() ? "status ok" : "status error";
});

try {
  const data = await api("/demo/cases.json");
  ticket = data.companies.flatMap((c) => c.tickets).find((t) => t.case.case_id === caseId) ?? null;
  if (!ticket) throw new Error(`the demo has no ticket ${caseId}`);
  renderTicket(ticket);
  frame.src = `/panel?host_origin=${encodeURIComponent(location.origin)}`;
} catch (err) {
  status.textContent = `This ticket could not be loaded: ${err.message}`;
  status.className = "status error";
}
