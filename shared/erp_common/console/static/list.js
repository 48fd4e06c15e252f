// A list page from its declaration: the function to call, its filters (each a labelled field named as
// the function's query parameter) and its columns. Every paginated list page is one call of this.
import { call } from "./api.js";
import { t } from "./i18n.js";
import { field, h, pager, showErrors, table } from "./ui.js";

// spec: {fn, title, filters: [{name, label, options?, type?}], columns: [{label, value, num}], pageSize, before?}
export async function listPage(view, spec) {
  const filters = (spec.filters || []).map((f) => field(f));
  const form = h("form", { class: "card", role: "search" }, h("div", { class: "fields" }, ...filters,
    h("button", { type: "submit", class: "primary", text: t("Search") })));
  const results = h("div", { "aria-live": "polite", id: "list-results" });
  async function load(page = 1) {
    const query = { page, page_size: spec.pageSize || 20 };
    for (const f of filters) {
      query[f.input.name] = f.input.type === "checkbox" ? (f.input.checked ? "true" : undefined) : f.input.value.trim();
    }
    try {
      const data = await call(spec.fn, { query });
      results.replaceChildren(table(spec.columns, data.items, spec.title), pager(data, load));
    } catch (err) { showErrors(form, err); }
  }
  form.addEventListener("submit", (e) => { e.preventDefault(); load(1); });
  view.append(h("h1", { text: spec.title }), ...(spec.before || []), form, results);
  await load(1);
}

export const statusOptions = (codes) => [["", t("All")], ...codes.map((s) => [s, t(s)])];
