// Stands in for the Freshworks app SDK in a test.
window.fdCalls = [];
window.app = {
  initialized: async () => ({
    iparams: { get: async () => ({ copilot_url: new URLSearchParams(location.search).get("panel"), account_source: "cf_account" }) },
    data: {
      get: async (name) =>
        ({
          ticket: { ticket: { id: 77, subject: "Reconciliation takes forever", description_text: "Every month we export the bank lines to Excel and tick them off by hand. Is there a quicker way?", priority: 4, source: 2, custom_fields: { cf_account: "acct-1001" } } },
          company: { company: { name: "Northwind Traders" } },
          loggedInUser: { loggedInUser: { id: 3, contact: { email: "agent@example.com" } } },
        })[name],
    },
    interface: { trigger: async (action, payload) => window.fdCalls.push([action, payload]) },
    events: { on: () => {} },
  }),
};
