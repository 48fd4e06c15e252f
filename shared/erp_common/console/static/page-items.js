// Catalog: the category tree, and the item list with search, filters and pages.
import { call, can } from "./api.js";
import { t } from "./i18n.js";
import { field, flattenTree, h, pager, showErrors, table } from "./ui.js";

function tree(nodes) {
  return h("ul", { class: "tree" }, nodes.map((n) => h("li", {}, `${n.name} (#${n.id})`, n.children?.length ? tree(n.children) : null)));
}

export async function render(view) {
  const cats = await call("category-list");
  const q = field({ name: "q", label: t("Search"), type: "search" });
  const cat = field({ name: "category_id", label: t("Category"), options: [["", t("All")], ...flattenTree(cats.items)] });
  const status = field({ name: "status", label: t("Status"), options: [["", t("All")], ["on_sale", t("on_sale")], ["off_sale", t("off_sale")]] });
  const form = h("form", { class: "card", role: "search" }, h("div", { class: "fields" }, q, cat, status,
    h("button", { type: "submit", class: "primary", text: t("Search") })));
  const results = h("div", { "aria-live": "polite" });

  async function load(page = 1) {
    try {
      const data = await call("item-list", { query: { q: q.input.value.trim(), category_id: cat.input.value,
        status: status.input.value, page, page_size: 20 } });
      results.replaceChildren(table([
        { label: "ID", value: (r) => String(r.id) },
        { label: t("Name"), value: (r) => h("a", { href: `#/item/${r.id}`, text: r.name }) },
        { label: t("Brand"), value: (r) => r.brand },
        { label: t("Price"), value: (r) => r.price, num: true },
        { label: t("SKUs"), value: (r) => String(r.sku_count), num: true },
        { label: t("Status"), value: (r) => t(r.status) },
      ], data.items, t("Items")), pager(data, load));
    } catch (err) { showErrors(form, err); }
  }
  form.addEventListener("submit", (e) => { e.preventDefault(); load(1); });
  view.append(h("h1", { text: t("Items") }),
    can("item-create") ? h("p", {}, h("a", { href: "#/item-new", text: t("New item") })) : null,
    form, results,
    h("details", {}, h("summary", { text: t("Categories") }), tree(cats.items)));
  await load(1);
}
