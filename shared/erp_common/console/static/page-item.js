// One item: its SKUs, its price history (newest first), and (for those who may change it) the item's
// and each SKU's price. A price saved here redraws the item and reloads the history, so the change
// just made is the history's first row.
import { call, can } from "./api.js";
import { t } from "./i18n.js";
import { field, h, notice, pager, submitting, table } from "./ui.js";

const HISTORY_PAGE = 20;

export async function render(view, [id]) {
  let item = await call("item-get", { path: id });
  const summary = h("p", { id: "item-summary" });
  const skus = h("div", { id: "item-skus" });
  function draw() {
    summary.textContent = `${t("Category")}: ${item.category.name} · ${t("Price")}: ${item.price} · ${t("Status")}: ${t(item.status)}`;
    skus.replaceChildren(table([
      { label: t("Code"), value: (s) => s.code },
      { label: t("Barcode"), value: (s) => s.barcode || "" },
      { label: "Specs", value: (s) => Object.entries(s.specs).map(([k, v]) => `${k}=${v}`).join(", ") },
      { label: t("Price"), value: (s) => s.price, num: true },
      { label: t("Status"), value: (s) => t(s.status) },
    ], item.skus, t("SKUs")));
  }
  draw();

  // Money as the API sends it ("99.90"): the page never formats or rounds an amount.
  const history = h("div", { "aria-live": "polite", id: "price-history" });
  async function loadHistory(page = 1) {
    const data = await call("item-price-history", { path: id, query: { page, page_size: HISTORY_PAGE } });
    const pages = data.total > data.page_size ? [pager(data, loadHistory)] : [];
    history.replaceChildren(table([
      { label: t("When"), value: (r) => h("time", { datetime: r.changed_at, text: r.changed_at }) },
      { label: t("By"), value: (r) => r.changed_by },
      { label: "SKU", value: (r) => r.sku_code || t("Item") },
      { label: t("Price change"), value: (r) => `${r.old_price} → ${r.new_price}`, num: true },
    ], data.items, t("Price history")), ...pages);
  }

  view.append(h("h1", { text: `${item.name} (#${item.id})` }), summary, skus);
  if (can("item-update")) view.append(priceForm());
  view.append(h("h2", { text: t("Price history") }), history);
  await loadHistory();

  function priceForm() {
    const price = field({ name: "price", label: t("New price"), value: item.price, attrs: { inputmode: "decimal" } });
    const skuPrices = item.skus.map((s, i) => field({ name: `skus[${i}].price`, label: `${s.code} ${t("Price")}`, value: s.price,
      attrs: { inputmode: "decimal" } }));
    const form = h("form", { class: "card", id: "change-price" }, h("h2", { text: t("Change price") }),
      h("div", { class: "fields" }, price, ...skuPrices, h("button", { type: "submit", class: "primary", text: t("Save") })));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      submitting(form, async () => {
        // Send only what changed: the item's price, and the SKUs given a price of their own.
        const body = {};
        if (price.input.value !== item.price) body.price = price.input.value;
        const changed = item.skus.map((s, i) => ({ id: s.id, price: skuPrices[i].input.value }))
          .filter((s, i) => s.price !== item.skus[i].price);
        if (changed.length) body.skus = changed;
        if (!Object.keys(body).length) return;
        item = await call("item-update", { path: id, body });
        // The saved prices as the server keeps them ("89" comes back "89.00"), so the next save compares
        // with those; SKUs following the item's price moved with it.
        price.input.value = item.price;
        item.skus.forEach((s, i) => { skuPrices[i].input.value = s.price; });
        draw();
        await loadHistory();
        notice(form, t("Price changed."));
      });
    });
    return form;
  }
}
