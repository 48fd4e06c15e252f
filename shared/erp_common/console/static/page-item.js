// One item: its SKUs, and (for those who may change it) the item's and each SKU's price.
import { call, can } from "./api.js";
import { t } from "./i18n.js";
import { field, h, notice, submitting, table } from "./ui.js";

export async function render(view, [id]) {
  const item = await call("item-get", { path: id });
  const skuTable = () => table([
    { label: t("Code"), value: (s) => s.code },
    { label: t("Barcode"), value: (s) => s.barcode || "" },
    { label: "Specs", value: (s) => Object.entries(s.specs).map(([k, v]) => `${k}=${v}`).join(", ") },
    { label: t("Price"), value: (s) => s.price, num: true },
    { label: t("Status"), value: (s) => t(s.status) },
  ], item.skus, t("SKUs"));
  view.append(h("h1", { text: `${item.name} (#${item.id})` }),
    h("p", { text: `${t("Category")}: ${item.category.name} · ${t("Price")}: ${item.price} · ${t("Status")}: ${t(item.status)}` }),
    skuTable());
  if (!can("item-update")) return;
  const price = field({ name: "price", label: t("New price"), value: item.price, attrs: { inputmode: "decimal" } });
  const skuPrices = item.skus.map((s, i) => field({ name: `skus[${i}].price`, label: `${s.code} ${t("Price")}`, value: s.price,
    attrs: { inputmode: "decimal" } }));
  const form = h("form", { class: "card" }, h("h2", { text: t("Change price") }),
    h("div", { class: "fields" }, price, ...skuPrices, h("button", { type: "submit", class: "primary", text: t("Save") })));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    submitting(form, async () => {
      // Send only what changed: the item's price, and the SKUs given a price of their own.
      const body = {};
      if (price.input.value !== item.price) body.price = price.input.value;
      const skus = item.skus.map((s, i) => ({ id: s.id, price: skuPrices[i].input.value }))
        .filter((s, i) => s.price !== item.skus[i].price);
      if (skus.length) body.skus = skus;
      if (!Object.keys(body).length) return;
      await call("item-update", { path: id, body });
      notice(form, t("Price changed."));
    });
  });
  view.append(form);
}
