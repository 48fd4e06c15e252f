// Stock moves: receive or adjust, transfer between warehouses, and stocktake entry.
import { call } from "./api.js";
import { t } from "./i18n.js";
import { field, h, notice, submitting } from "./ui.js";
import { warehouseOptions } from "./page-stock.js";

function card(title, id, fields, submit) {
  const form = h("form", { class: "card", id }, h("h2", { text: title }), h("div", { class: "fields" }, ...fields,
    h("button", { type: "submit", class: "primary", text: title })));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    submitting(form, async () => { await submit(); notice(form, t("Done.")); });
  });
  return form;
}

export async function render(view) {
  const whs = await warehouseOptions(false);
  const a = {
    sku: field({ name: "sku", label: "SKU", required: true, attrs: { autofocus: true } }),
    warehouse_id: field({ name: "warehouse_id", label: t("Warehouse"), options: whs }),
    type: field({ name: "type", label: t("Type"), options: ["receipt", "adjust", "issue"].map((x) => [x, t(x)]) }),
    direction: field({ name: "direction", label: t("Direction"), options: [["in", t("in")], ["out", t("out")]] }),
    quantity: field({ name: "quantity", label: t("Quantity"), attrs: { inputmode: "decimal" } }),
    reason: field({ name: "reason", label: t("Reason") }),
  };
  const adjust = card(t("Adjust"), "adjust", Object.values(a), () => call("stock-adjust", { idempotent: true, body: {
    sku: a.sku.input.value.trim(), warehouse_id: Number(a.warehouse_id.input.value), type: a.type.input.value,
    direction: a.direction.input.value, quantity: a.quantity.input.value.trim(), reason: a.reason.input.value.trim() } }));

  const tr = {
    from: field({ name: "from_warehouse_id", label: t("From"), options: whs }),
    to: field({ name: "to_warehouse_id", label: t("To"), options: whs }),
    sku: field({ name: "lines[0].sku", label: "SKU" }),
    qty: field({ name: "lines[0].quantity", label: t("Quantity"), attrs: { inputmode: "decimal" } }),
    reason: field({ name: "reason", label: t("Reason") }),
  };
  const transfer = card(t("Transfer"), "transfer", Object.values(tr), () => call("stock-transfer", { idempotent: true, body: {
    from_warehouse_id: Number(tr.from.input.value), to_warehouse_id: Number(tr.to.input.value),
    lines: [{ sku: tr.sku.input.value.trim(), quantity: tr.qty.input.value.trim() }], reason: tr.reason.input.value.trim() } }));

  const countWh = field({ name: "warehouse_id", label: t("Warehouse"), options: whs });
  const lines = h("div", { class: "fields" });
  const addLine = () => {
    const i = lines.children.length / 2;
    lines.append(field({ name: `lines[${i}].sku`, label: `SKU ${i + 1}` }),
      field({ name: `lines[${i}].counted`, label: `${t("Counted")} ${i + 1}`, attrs: { inputmode: "decimal" } }));
  };
  addLine();
  const count = card(t("Stocktake"), "stocktake", [countWh, h("fieldset", {}, h("legend", { text: t("Lines to count") }), lines,
    h("button", { type: "button", onclick: addLine, text: t("Add line") }))], () => {
    const body = { warehouse_id: Number(countWh.input.value), lines: [] };
    for (let i = 0; i < lines.children.length / 2; i++) {
      const s = count.elements[`lines[${i}].sku`].value.trim();
      if (s) body.lines.push({ sku: s, counted: count.elements[`lines[${i}].counted`].value.trim() });
    }
    return call("stock-count", { idempotent: true, body });
  });
  view.append(h("h1", { text: t("Stock moves") }), adjust, transfer, count);
}
