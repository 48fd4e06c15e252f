// Costing: what the stock is worth now, per SKU and warehouse, with its total (the server's figures).
import { call } from "./api.js";
import { t } from "./i18n.js";
import { warehouseOptions } from "./page-stock.js";
import { field, h, showErrors, table } from "./ui.js";

export async function render(view) {
  const wh = field({ name: "warehouse_id", label: t("Warehouse"), options: await warehouseOptions(true) });
  const form = h("form", { class: "card", role: "search" }, h("div", { class: "fields" }, wh,
    h("button", { type: "submit", class: "primary", text: t("Query") })));
  const results = h("div", { "aria-live": "polite" });
  async function load() {
    try {
      const v = await call("cost-valuation", { query: { warehouse_id: wh.input.value } });
      results.replaceChildren(
        h("p", { id: "valuation-total" }, `${t("Total value")}: `, h("strong", { text: v.total_value }),
          ` · ${t("As of")}: ${v.as_of} · ${t("Rows without a cost")}: ${v.uncosted_rows}`),
        table([
          { label: "SKU", value: (r) => r.sku_code }, { label: t("Category"), value: (r) => r.category },
          { label: t("Warehouse"), value: (r) => String(r.warehouse_id) }, { label: t("On hand"), value: (r) => r.on_hand, num: true },
          { label: t("Unit cost"), value: (r) => r.unit_cost ?? "", num: true }, { label: t("Value"), value: (r) => r.value ?? "", num: true },
        ], v.rows, t("Stock value")));
    } catch (err) { showErrors(form, err); }
  }
  form.addEventListener("submit", (e) => { e.preventDefault(); load(); });
  view.append(h("h1", { text: t("Stock value") }), form, results);
  await load();
}
