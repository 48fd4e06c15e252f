// Purchasing: purchase orders by status, paginated; each opens its detail.
import { t } from "./i18n.js";
import { listPage, statusOptions } from "./list.js";
import { h } from "./ui.js";

const STATUSES = ["draft", "approved", "partially_received", "received", "closed", "cancelled"];

export const render = (view) => listPage(view, {
  fn: "po-list", title: t("Purchase orders"),
  filters: [{ name: "status", label: t("Status"), options: statusOptions(STATUSES) }, { name: "sku", label: "SKU" }],
  columns: [
    { label: t("Number"), value: (p) => h("a", { href: `#/po/${p.number}`, text: p.number }) },
    { label: t("Status"), value: (p) => t(p.status) }, { label: t("Supplier"), value: (p) => String(p.supplier_id) },
    { label: t("Total"), value: (p) => p.total_amount, num: true }, { label: t("Expected"), value: (p) => p.expected_at || "" },
    { label: t("Created"), value: (p) => p.created_at },
  ],
});
