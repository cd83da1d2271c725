// The demo helpdesk's ticket list, grouped by company (examples/demo/cases.json).
import { api, el } from "./api.js";

const status = document.getElementById("status");
try {
  const data = await api("/demo/cases.json");
  document.getElementById("companies").replaceChildren(
    ...data.companies.map((company) =>
      el(
        "section",
        { class: "company", "aria-labelledby": `company-${company.id}` },
        el("h2", { id: `company-${company.id}`, text: `${company.name} (${company.tickets.length})` }),
        el(
          "ul",
          { class: "tickets" },
          company.tickets.map(({ requester, case: c }) =>
            el(
              "li",
              {},
              el("a", { href: `/tickets/${encodeURIComponent(c.case_id)}`, text: c.subject || c.case_id }),
              el("span", { class: `priority ${c.priority ?? "normal"}`, text: c.priority ?? "normal" }),
              el("span", { class: "meta", text: [requester, c.product, c.channel, c.case_id].filter(Boolean).join(" · ") }),
            ),
          ),
        ),
      ),
    ),
  );
} catch (err) {
  status.textContent = `The demo's cases could not be loaded: ${err.message}`;
  status.className = "status error";
}
