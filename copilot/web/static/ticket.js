// One demo ticket, and the host side of the bridge (copilot-host.js, as the helpdesk adapters
// use it): it sends the case to the panel and puts what the panel inserts in the reply box.
import { api, el } from "./api.js";

const caseId = document.getElementById("layout").dataset.caseId;
const reply = document.getElementById("reply");
const status = document.getElementById("status");
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
  window.CopilotHost.mount({
    panelUrl: location.origin, // the demo serves the panel itself
    container: document.getElementById("sidebar"),
    id: "panel",
    getCase: () => ticket.case,
    insert: (text, mode) => {
      reply.value = mode === "replace" || !reply.value.trim() ? text : `${reply.value.trimEnd()}\n\n${text}`;
      reply.focus();
    },
  });
} catch (err) {
  status.textContent = `This ticket could not be loaded: ${err.message}`;
  status.className = "status error";
}
