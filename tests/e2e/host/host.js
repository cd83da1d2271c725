// A stand-in helpdesk on its own origin, embedding the panel with copilot-host.js exactly as the
// Zendesk and Freshdesk adapters do. The tests drive it through window.host. ?panel=URL names
// the Value Copilot server; ?intruder=ORIGIN adds a frame from another origin that tries to
// talk to the panel.
const params = new URLSearchParams(location.search);
const panelUrl = params.get("panel");
let current = null;

window.host = {
  received: [],
  inserts: [],
  insertAnswer: { ok: true },
  sendCase(caseData) {
    current = caseData;
    return mounted.refresh();
  },
  sendRaw(data) {
    mounted.frame.contentWindow.postMessage(data, new URL(panelUrl).origin);
  },
};

// what the panel said, as the tests see it (copilot-host.js does the answering)
window.addEventListener("message", (event) => {
  if (event.source === mounted.frame.contentWindow) window.host.received.push(event.data);
});

const mounted = window.CopilotHost.mount({
  panelUrl,
  container: document.getElementById("sidebar"),
  id: "panel",
  minHeight: 900,
  getCase: () => current,
  insert: (text, mode) => {
    window.host.inserts.push({ text, mode });
    if (!window.host.insertAnswer.ok) throw new Error(window.host.insertAnswer.error);
  },
});

const intruder = params.get("intruder");
if (intruder) {
  const evil = document.createElement("iframe");
  evil.title = "intruder";
  evil.src = `${intruder}/intruder.html`;
  document.body.append(evil);
}
