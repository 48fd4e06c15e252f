// Stock: query by SKU code or barcode (or every SKU), one warehouse or all, low stock only.
import { call } from "./api.js";
import { t } from "./i18n.js";
import { field, h, pager, showErrors, table } from "./ui.js";

export async function warehouseOptions(all) {
  const w = await call("warehouse-list", { query: { page_size: 200 } });
  return [...(all ? [["", t("All")]] : []), ...w.items.map((x) => [x.id, `${x.code} ${x.name}`])];
}

// A code, or failing that a barcode, to the SKU's code (the server decides which it is).
export async function skuCode(text) {
  try {
    return (await call("sku-get", { query: { code: text } })).code;
  } catch (err) {
    if (err.status !== 404 && err.status !== 422) throw err;
    return (await call("sku-get", { query: { barcode: text } })).code;
  }
}

export async function render(view) {
  const sku = field({ name: "sku", label: t("SKU code or barcode"), attrs: { autofocus: true } });
  const wh = field({ name: "warehouse_id", label: t("Warehouse"), options: await warehouseOptions(true) });
  const low = field({ name: "low_stock", label: t("Low stock only"), type: "checkbox" });
  const form = h("form", { class: "card", role: "search" }, h("div", { class: "fields" }, sku, wh, low,
    h("button", { type: "submit", class: "primary", text: t("Query") })));
  const results = h("div", { "aria-live": "polite", id: "stock-results" });
  async function load(page = 1) {
    try {
      const text = sku.input.value.trim();
      const code = text ? await skuCode(text) : undefined;
      const data = await call("stock-query", { query: { sku: code, warehouse_id: wh.input.value,
        low_stock: low.input.checked ? "true" : undefined, page, page_size: 50 } });
      results.replaceChildren(table([
        { label: "SKU", value: (r) => r.sku_code }, { label: t("Warehouse"), value: (r) => r.warehouse_code },
        { label: t("On hand"), value: (r) => r.on_hand, num: true }, { label: t("Reserved"), value: (r) => r.reserved, num: true },
        { label: t("Available"), value: (r) => r.available, num: true },
        { label: t("Low"), value: (r) => (r.low_stock ? `⚠ ${t("yes")}` : t("no")) },
      ], data.items, t("Stock")), pager(data, load));
    } catch (err) { showErrors(form, err); }
  }
  form.addEventListener("submit", (e) => { e.preventDefault(); load(1); });
  view.append(h("h1", { text: t("Stock") }), form, results);
  await load(1);
}
