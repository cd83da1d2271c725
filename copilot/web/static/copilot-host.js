/* The host side of the Value Copilot bridge, for any page that embeds the side panel: the demo
 * helpdesk, the Zendesk and Freshdesk adapters, or your own. A plain script (no modules, no
 * dependencies) so a helpdesk app can ship a copy of it.
 *
 *   const host = CopilotHost.mount({
 *     panelUrl: "https://copilot.example.com",       // the Value Copilot server
 *     container: document.getElementById("copilot"), // where the panel's frame goes
 *     getCase: async () => ({case_id: "123", subject: "...", messages: [...]}),  // the Case contract
 *     insert: async (text, mode) => { ... },          // put text in the reply; throw to refuse
 *     onResize: (height) => { ... },                  // optional
 *   });
 *   host.refresh();  // the ticket changed: send the case again
 *
 * Messages are {v, type, id, reply_to, ts, payload}; only the panel's own frame and origin are
 * heard, and every message is posted to the panel's origin, never "*".
 */
(function (root) {
  "use strict";
  var VERSION = 1;
  var counter = 0;

  function envelope(type, payload, replyTo) {
    counter += 1;
    return { v: VERSION, type: type, id: "host-" + Date.now() + "-" + counter, reply_to: replyTo || null, ts: new Date().toISOString(), payload: payload };
  }

  function valid(data) {
    if (!data || typeof data !== "object" || data.v !== VERSION || typeof data.id !== "string") return false;
    var p = data.payload;
    if (!p || typeof p !== "object") return false;
    if (data.type === "ready") return true;
    if (data.type === "insert.request") return typeof p.text === "string" && p.text.length > 0 && (p.mode === "append" || p.mode === "replace");
    if (data.type === "resize") return typeof p.height === "number" && isFinite(p.height) && p.height >= 0;
    return false; // unknown types are dropped
  }

  function mount(options) {
    var panelOrigin = new URL(options.panelUrl).origin;
    var frame = document.createElement("iframe");
    frame.title = options.title || "Value Copilot side panel";
    if (options.id) frame.id = options.id;
    frame.setAttribute("allow", "clipboard-write");
    frame.style.width = "100%";
    frame.style.border = "0";
    frame.style.display = "block";
    frame.style.minHeight = (options.minHeight || 300) + "px";
    var ready = false;

    function post(type, payload, replyTo) {
      if (frame.contentWindow) frame.contentWindow.postMessage(envelope(type, payload, replyTo), panelOrigin);
    }

    function sendCase() {
      return Promise.resolve()
        .then(options.getCase)
        .then(function (caseData) {
          if (caseData) post("context.update", caseData);
        })
        .catch(function (err) {
          if (options.onError) options.onError(err);
        });
    }

    function onMessage(event) {
      if (event.source !== frame.contentWindow || event.origin !== panelOrigin || !valid(event.data)) return;
      var m = event.data;
      if (m.type === "ready") {
        ready = true;
        sendCase();
      } else if (m.type === "insert.request") {
        Promise.resolve()
          .then(function () {
            return options.insert(m.payload.text, m.payload.mode);
          })
          .then(
            function () {
              post("insert.result", { ok: true }, m.id);
            },
            function (err) {
              post("insert.result", { ok: false, error: String((err && err.message) || err || "refused") }, m.id);
            }
          );
      } else if (m.type === "resize") {
        if (options.onResize) options.onResize(m.payload.height);
        else frame.style.height = Math.max(m.payload.height, options.minHeight || 300) + "px";
      }
    }

    window.addEventListener("message", onMessage);
    var base = options.panelUrl.replace(/\/+$/, "");
    frame.src = base + "/panel?host_origin=" + encodeURIComponent(window.location.origin);
    options.container.appendChild(frame);

    return {
      frame: frame,
      refresh: function () {
        return ready ? sendCase() : Promise.resolve();
      },
      unmount: function () {
        window.removeEventListener("message", onMessage);
        frame.remove();
      },
    };
  }

  root.CopilotHost = { mount: mount, VERSION: VERSION };
})(window);
