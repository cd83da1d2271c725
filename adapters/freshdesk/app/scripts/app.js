/* Freshdesk (Freshworks platform, ticket_sidebar) <-> Value Copilot bridge.
 * Maps the ticket, requester, company and agent the data method returns to the Case contract,
 * and the panel's insert.request to the reply editor (interface method setValue).
 * mapTicket is pure and exported for tests and for adapting it to your own fields.
 */
(function (root) {
  "use strict";

  var PRIORITIES = { 1: "low", 2: "normal", 3: "high", 4: "urgent" };
  var SOURCES = { 1: "email", 2: "web", 3: "phone", 7: "chat", 9: "web", 10: "email" };

  function mapTicket(ticket, company, agent, iparams) {
    iparams = iparams || {};
    var custom = ticket.custom_fields || {};
    var accountSource = iparams.account_source || "company";
    var account = accountSource === "company" ? company && company.name : custom[accountSource];
    var product = iparams.product_field ? custom[iparams.product_field] : null;
    var caseData = {
      case_id: "freshdesk-" + ticket.id,
      subject: ticket.subject || "",
      description: (ticket.description_text || "").trim().slice(0, 20000),
      channel: SOURCES[ticket.source] || "email",
      priority: PRIORITIES[ticket.priority] || "normal",
      agent_id: agent && agent.contact && agent.contact.email ? agent.contact.email : agent && agent.id != null ? String(agent.id) : undefined,
    };
    if (!caseData.subject && !caseData.description) caseData.description = "(empty ticket)";
    if (account) caseData.account_id = String(account).trim().replace(/[^A-Za-z0-9._-]+/g, "-");
    if (product) caseData.product = String(product).toLowerCase();
    return caseData;
  }

  function start(client) {
    var status = document.getElementById("status");
    var iparams = {};

    function readTicket() {
      return Promise.all([
        client.data.get("ticket"),
        client.data.get("company").catch(function () { return { company: null }; }),
        client.data.get("loggedInUser").catch(function () { return { loggedInUser: null }; }),
      ]).then(function (r) {
        return mapTicket(r[0].ticket, r[1].company, r[2].loggedInUser, iparams);
      });
    }

    client.iparams.get().then(function (params) {
      iparams = params || {};
      if (!iparams.copilot_url) {
        status.textContent = "Set the Value Copilot server in this app's installation settings.";
        return;
      }
      var host = root.CopilotHost.mount({
        panelUrl: iparams.copilot_url,
        container: document.getElementById("copilot"),
        minHeight: 500,
        getCase: readTicket,
        insert: function (text, mode) {
          return client.interface.trigger("setValue", { id: "editor", text: text, replace: mode === "replace" });
        },
        onError: function (err) {
          status.textContent = "The ticket could not be read: " + (err && err.message ? err.message : err);
        },
      });
      client.events.on("ticket.propertiesUpdated", host.refresh);
    });
  }

  root.ValueCopilotFreshdesk = { mapTicket: mapTicket };
  if (root.app && root.app.initialized) root.app.initialized().then(start);
})(window);
