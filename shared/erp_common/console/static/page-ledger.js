// The stock ledger: every movement, by SKU and type, paginated.
import { call } from "./api.js";
import { t } from "./i18n.js";
import { field, h, pager, showErrors, table } from "./ui.js";

export async function render(view) {
  const sku = field({ name: "sku", label: "SKU", attrs: { autofocus: true } });
  const type = field({ name: "type", label: t("Type") });
  const form = h("form", { class: "card", role: "search" }, h("div", { class: "fields" }, sku, type,
    h("button", { type: "submit", class: "primary", text: t("Query") })));
  const results = h("div", { "aria-live": "polite" });
  async function load(page = 1) {
    try {
      const data = await call("stock-ledger", { query: { sku: sku.input.value.trim(), type: type.input.value.trim(), page, page_size: 50 } });
      results.replaceChildren(table([
        { label: t("When"), value: (r) => r.created_at }, { label: "SKU", value: (r) => String(r.sku_id) },
        { label: t("Warehouse"), value: (r) => String(r.warehouse_id) }, { label: t("Type"), value: (r) => r.type },
        { label: t("Change"), value: (r) => r.qty_on_hand, num: true }, { label: t("After"), value: (r) => r.on_hand_after, num: true },
        { label: t("Document"), value: (r) => `${r.doc_type} ${r.doc_id}` }, { label: t("Reason"), value: (r) => r.reason },
        { label: t("By"), value: (r) => r.actor },
      ], data.items, t("Ledger")), pager(data, load));
    } catch (err) { showErrors(form, err); }
  }
  form.addEventListener("submit", (e) => { e.preventDefault(); load(1); });
  view.append(h("h1", { text: t("Ledger") }), form, results);
  await load(1);
}
