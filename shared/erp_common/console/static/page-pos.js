// Purchasing: purchase orders by status, paginated; each opens its detail.
import { call } from "./api.js";
import { t } from "./i18n.js";
import { field, h, pager, showErrors, table } from "./ui.js";

const STATUSES = ["draft", "approved", "partially_received", "received", "closed", "cancelled"];

export async function render(view) {
  const status = field({ name: "status", label: t("Status"), options: [["", t("All")], ...STATUSES.map((s) => [s, t(s)])] });
  const form = h("form", { class: "card", role: "search" }, h("div", { class: "fields" }, status,
    h("button", { type: "submit", class: "primary", text: t("Search") })));
  const results = h("div", { "aria-live": "polite" });
  async function load(page = 1) {
    try {
      const data = await call("po-list", { query: { status: status.input.value, page, page_size: 20 } });
      results.replaceChildren(table([
        { label: t("Number"), value: (p) => h("a", { href: `#/po/${p.number}`, text: p.number }) },
        { label: t("Status"), value: (p) => t(p.status) }, { label: t("Supplier"), value: (p) => String(p.supplier_id) },
        { label: t("Total"), value: (p) => p.total_amount, num: true }, { label: t("Expected"), value: (p) => p.expected_at || "" },
        { label: t("Created"), value: (p) => p.created_at },
      ], data.items, t("Purchase orders")), pager(data, load));
    } catch (err) { showErrors(form, err); }
  }
  form.addEventListener("submit", (e) => { e.preventDefault(); load(1); });
  view.append(h("h1", { text: t("Purchase orders") }), form, results);
  await load(1);
}
