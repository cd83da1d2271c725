// Stands in for Zendesk's ZAF SDK in a test: a ticket, an agent, settings, and a record of
// what the adapter invoked.
window.zafCalls = [];
window.ZAFClient = {
  init() {
    const params = new URLSearchParams(location.search);
    return {
      metadata: async () => ({ settings: { copilot_url: params.get("panel"), default_product: "ledgerly" } }),
      get: async () => ({
        ticket: {
          id: 4242,
          subject: "Reconciliation takes forever",
          description: "<p>Every month we export the bank lines to Excel.</p>",
          priority: "high",
          via: { channel: "email" },
          requester: { name: "Dana", locale: "en-US" },
          organization: { name: "Northwind Traders", externalId: "acct-1001" },
          comments: [
            { value: "<p>Happy to help.</p>", author: { role: "agent" } },
            { value: "<p>It takes <b>two days</b> each month. Is there a quicker way?</p>", author: { role: "end-user" } },
          ],
        },
        currentUser: { id: 7 },
      }),
      invoke: async (name, ...args) => window.zafCalls.push([name, ...args]),
      set: async (name, value) => window.zafCalls.push(["set:" + name, value]),
      on: () => {},
    };
  },
};
