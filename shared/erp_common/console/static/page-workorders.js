// Production: work orders by status and SKU.
import { t } from "./i18n.js";
import { listPage, statusOptions } from "./list.js";

const STATUSES = ["draft", "released", "in_progress", "done", "cancelled"];

export const render = (view) => listPage(view, {
  fn: "workorder-list", title: t("Work orders"),
  filters: [{ name: "status", label: t("Status"), options: statusOptions(STATUSES) }, { name: "sku", label: "SKU" }],
  columns: [
    { label: t("Number"), value: (w) => w.number }, { label: "SKU", value: (w) => w.sku_code },
    { label: t("Status"), value: (w) => t(w.status) }, { label: t("Quantity"), value: (w) => w.quantity, num: true },
    { label: t("Qty done"), value: (w) => w.qty_done, num: true }, { label: t("Due"), value: (w) => w.due_date || "" },
  ],
});
