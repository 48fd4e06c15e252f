// The run log of scheduled jobs.
import { call } from "./api.js";
import { t } from "./i18n.js";
import { field, h, pager, showErrors, table } from "./ui.js";

export async function render(view) {
  const job = field({ name: "job", label: t("Job") });
  const form = h("form", { class: "card", role: "search" }, h("div", { class: "fields" }, job,
    h("button", { type: "submit", class: "primary", text: t("Search") })));
  const results = h("div", { "aria-live": "polite" });
  async function load(page = 1) {
    try {
      const data = await call("job-run-list", { query: { job: job.input.value.trim(), page, page_size: 50 } });
      results.replaceChildren(table([
        { label: t("Job"), value: (r) => r.job }, { label: t("Status"), value: (r) => r.status },
        { label: t("Started"), value: (r) => r.started_at }, { label: t("Finished"), value: (r) => r.finished_at || "" },
        { label: t("Processed"), value: (r) => String(r.processed), num: true }, { label: t("Error"), value: (r) => r.error || "" },
      ], data.items, t("Job runs")), pager(data, load));
    } catch (err) { showErrors(form, err); }
  }
  form.addEventListener("submit", (e) => { e.preventDefault(); load(1); });
  view.append(h("h1", { text: t("Job runs") }), form, results);
  await load(1);
}
