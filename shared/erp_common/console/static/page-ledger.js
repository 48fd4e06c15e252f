// The stock ledger: every movement, by SKU and type, paginated.
import { t } from "./i18n.js";
import { listPage } from "./list.js";

export const render = (view) => listPage(view, {
  fn: "stock-ledger", title: t("Ledger"), pageSize: 50,
  filters: [{ name: "sku", label: "SKU", attrs: { autofocus: true } }, { name: "type", label: t("Type") }],
  columns: [
    { label: t("When"), value: (r) => r.created_at }, { label: "SKU", value: (r) => String(r.sku_id) },
    { label: t("Warehouse"), value: (r) => String(r.warehouse_id) }, { label: t("Type"), value: (r) => r.type },
    { label: t("Change"), value: (r) => r.qty_on_hand, num: true }, { label: t("After"), value: (r) => r.on_hand_after, num: true },
    { label: t("Document"), value: (r) => `${r.doc_type} ${r.doc_id}` }, { label: t("Reason"), value: (r) => r.reason },
    { label: t("By"), value: (r) => r.actor },
  ],
});
