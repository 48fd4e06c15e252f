// Orders: the list by status, paginated; each opens its detail.
import { t } from "./i18n.js";
import { listPage, statusOptions } from "./list.js";
import { h } from "./ui.js";

const STATUSES = ["pending_payment", "paid", "partially_shipped", "shipped", "partially_returned", "returned", "cancelled"];

export const render = (view) => listPage(view, {
  fn: "order-list", title: t("Orders"),
  filters: [{ name: "status", label: t("Status"), options: statusOptions(STATUSES) }],
  columns: [
    { label: t("Number"), value: (o) => h("a", { href: `#/order/${o.number}`, text: o.number }) },
    { label: t("Status"), value: (o) => t(o.status) }, { label: t("Total"), value: (o) => o.total_amount, num: true },
    { label: t("Paid"), value: (o) => o.paid_amount, num: true }, { label: t("Refunded"), value: (o) => o.refunded_amount, num: true },
    { label: t("Created"), value: (o) => o.created_at }, { label: t("By"), value: (o) => o.created_by },
  ],
});
