// Orders: the list by status, paginated; each opens its detail.
import { call } from "./api.js";
import { t } from "./i18n.js";
import { field, h, pager, showErrors, table } from "./ui.js";

export const STATUSES = ["pending_payment", "paid", "partially_shipped", "shipped", "partially_returned", "returned", "cancelled"];

export async function render(view) {
  const status = field({ name: "status", label: t("Status"), options: [["", t("All")], ...STATUSES.map((s) => [s, t(s)])] });
  const form = h("form", { class: "card", role: "search" }, h("div", { class: "fields" }, status,
    h("button", { type: "submit", class: "primary", text: t("Search") })));
  const results = h("div", { "aria-live": "polite" });
  async function load(page = 1) {
    try {
      const data = await call("order-list", { query: { status: status.input.value, page, page_size: 20 } });
      results.replaceChildren(table([
        { label: t("Number"), value: (o) => h("a", { href: `#/order/${o.number}`, text: o.number }) },
        { label: t("Status"), value: (o) => t(o.status) }, { label: t("Total"), value: (o) => o.total_amount, num: true },
        { label: t("Paid"), value: (o) => o.paid_amount, num: true }, { label: t("Refunded"), value: (o) => o.refunded_amount, num: true },
        { label: t("Created"), value: (o) => o.created_at }, { label: t("By"), value: (o) => o.created_by },
      ], data.items, t("Orders")), pager(data, load));
    } catch (err) { showErrors(form, err); }
  }
  form.addEventListener("submit", (e) => { e.preventDefault(); load(1); });
  view.append(h("h1", { text: t("Orders") }), form, results);
  await load(1);
}
