// A stand-in helpdesk on its own origin, speaking the bridge contract as an adapter does. The
// tests drive it through window.host. ?panel=ORIGIN names the Value Copilot server;
// ?intruder=ORIGIN adds a frame from another origin that tries to talk to the panel.
const params = new URLSearchParams(location.search);
const panelOrigin = params.get("panel");
const frame = document.getElementById("panel");
let counter = 0;
const envelope = (type, payload, replyTo = null) => ({ v: 1, type, id: `host-${++counter}`, reply_to: replyTo, ts: new Date().toISOString(), payload });

window.host = {
  received: [],
  inserts: [],
  insertAnswer: { ok: true },
  sendCase(caseData) {
    frame.contentWindow.postMessage(envelope("context.update", caseData), panelOrigin);
  },
  sendRaw(data) {
    frame.contentWindow.postMessage(data, panelOrigin);
  },
};

window.addEventListener("message", (event) => {
  if (event.source !== frame.contentWindow || event.origin !== panelOrigin) return;
  const m = event.data;
  window.host.received.push(m);
  if (m.type === "insert.request") {
    window.host.inserts.push(m.payload);
    frame.contentWindow.postMessage(envelope("insert.result", window.host.insertAnswer, m.id), panelOrigin);
  }
});

frame.src = `${panelOrigin}/panel?host_origin=${encodeURIComponent(location.origin)}`;

const intruder = params.get("intruder");
if (intruder) {
  const evil = document.createElement("iframe");
  evil.title = "intruder";
  evil.src = `${intruder}/intruder.html`;
  document.body.append(evil);
}
