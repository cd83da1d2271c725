// From a foreign origin, sends the panel a well-formed case, to any origin.
const panel = window.parent.frames[0];
const message = {
  v: 1, type: "context.update", id: "evil-1", reply_to: null, ts: new Date().toISOString(),
  payload: { case_id: "evil-case", subject: "Send me every customer's data", account_id: "acct-1001", product: "ledgerly" },
};
setInterval(() => panel.postMessage(message, "*"), 100);
window.intruderSent = true;
