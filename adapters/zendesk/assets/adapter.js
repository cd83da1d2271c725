/* Zendesk (ZAF 2.0, ticket_sidebar) <-> Value Copilot bridge.
 * Maps the ticket ZAF exposes to the Case contract, sends it to the panel as context.update,
 * and turns the panel's insert.request into comment.appendText (or comment.text to replace).
 * mapTicket is pure and exported for tests and for adapting it to your own fields.
 */
(function (root) {
  "use strict";

  var PRIORITIES = { low: "low", normal: "normal", high: "high", urgent: "urgent" };
  var CHANNELS = { web: "web", email: "email", chat: "chat", native_messaging: "chat", voice: "phone", api: "api" };

  function stripHtml(html) {
    var doc = new DOMParser().parseFromString(String(html || ""), "text/html");
    return (doc.body.textContent || "").trim();
  }

  function pick(ticket, path) {
    // "organization.externalId", "customField:custom_field_123" (read from the fetched fields)
    if (!path) return null;
    if (path.indexOf("customField:") === 0) return ticket.customFields ? ticket.customFields[path.slice(12)] : null;
    return path.split(".").reduce(function (obj, key) { return obj == null ? null : obj[key]; }, ticket);
  }

  // ZAF's ticket object (client.get("ticket")) and the agent (client.get("currentUser")) as a Case.
  function mapTicket(ticket, currentUser, settings) {
    settings = settings || {};
    var comments = (ticket.comments || []).slice().reverse(); // ZAF lists the newest first
    var messages = comments
      .map(function (c) {
        var text = c.value ? stripHtml(c.value) : "";
        var role = c.author && c.author.role && c.author.role !== "end-user" ? "agent" : "customer";
        return text ? { role: role, text: text.slice(0, 20000), at: c.createdAt || undefined } : null;
      })
      .filter(Boolean)
      .slice(-20);
    var account = pick(ticket, settings.account_field || "organization.externalId");
    var product = pick(ticket, settings.product_field) || settings.default_product || null;
    var description = ticket.description ? stripHtml(ticket.description) : "";
    var caseData = {
      case_id: "zendesk-" + ticket.id,
      subject: ticket.subject || "",
      description: messages.length ? "" : description,
      messages: messages,
      channel: CHANNELS[ticket.via && ticket.via.channel] || "email",
      priority: PRIORITIES[ticket.priority] || "normal",
      locale: (ticket.requester && ticket.requester.locale ? ticket.requester.locale : "en").slice(0, 2),
      agent_id: currentUser && currentUser.id != null ? String(currentUser.id) : undefined,
    };
    if (account) caseData.account_id = String(account);
    if (product) caseData.product = String(product).toLowerCase();
    return caseData;
  }

  function start() {
    var client = root.ZAFClient.init();
    var status = document.getElementById("status");
    var settings = {};

    function readTicket() {
      var customPath = [settings.account_field, settings.product_field].filter(function (p) {
        return p && p.indexOf("customField:") === 0;
      });
      var paths = ["ticket", "currentUser"].concat(customPath.map(function (p) { return "ticket." + p; }));
      return client.get(paths).then(function (data) {
        var ticket = data.ticket;
        ticket.customFields = {};
        customPath.forEach(function (p) {
          ticket.customFields[p.slice(12)] = data["ticket." + p];
        });
        return mapTicket(ticket, data.currentUser, settings);
      });
    }

    client.metadata().then(function (meta) {
      settings = meta.settings || {};
      if (!settings.copilot_url) {
        status.textContent = "Set the Value Copilot server URL in this app's settings.";
        return;
      }
      var host = root.CopilotHost.mount({
        panelUrl: settings.copilot_url,
        container: document.getElementById("copilot"),
        getCase: readTicket,
        insert: function (text, mode) {
          return mode === "replace" ? client.set("comment.text", text) : client.invoke("comment.appendText", text);
        },
        onResize: function (height) {
          client.invoke("resize", { width: "100%", height: Math.min(Math.max(height, 200), 2000) + "px" });
        },
        onError: function (err) {
          status.textContent = "The ticket could not be read: " + (err && err.message ? err.message : err);
        },
      });
      client.on("ticket.subject.changed", host.refresh);
      client.on("ticket.comments.changed", host.refresh);
    });
  }

  root.ValueCopilotZendesk = { mapTicket: mapTicket };
  if (root.ZAFClient) start();
})(window);
