// CSV import (a progress bar while it runs; the rejected rows with their reasons) and export.
import { call } from "./api.js";
import { t } from "./i18n.js";
import { field, h, notice, showErrors, submitting, table } from "./ui.js";

export async function render(view) {
  const file = field({ name: "csv", label: t("CSV file"), type: "file", attrs: { accept: ".csv,text/csv" } });
  const dry = field({ name: "dry_run", label: t("Check only (dry run)"), type: "checkbox" });
  const progress = h("progress", { id: "import-progress", max: 100, value: 0 });
  const progressLabel = h("label", { for: "import-progress", text: t("Import progress") });
  const report = h("div", { "aria-live": "polite", id: "import-report" });
  const form = h("form", { class: "card" }, h("div", { class: "fields" }, file, dry,
    h("button", { type: "submit", class: "primary", text: t("Import") })), progressLabel, progress);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    report.replaceChildren();
    submitting(form, async () => {
      const chosen = file.input.files[0];
      if (!chosen) throw { message: t("CSV file"), details: [{ field: "csv", message: t("CSV file") }] };
      progress.value = 10;
      progress.removeAttribute("value");  // indeterminate while the server works through the rows
      try {
        const r = await call("item-import", { body: { csv: await chosen.text(), dry_run: dry.input.checked }, idempotent: true });
        report.append(table([{ label: t("Report"), value: (x) => x[0] }, { label: t("Count"), value: (x) => String(x[1]), num: true }], [
          [t("Rows"), r.rows], [t("Created items"), r.created_items], [t("Updated items"), r.updated_items],
          [t("Created SKUs"), r.created_skus], [t("Updated SKUs"), r.updated_skus], [t("Rejected rows"), r.rejected.length]]),
        h("h2", { text: t("Rejected rows") }),
        r.rejected.length ? table([
          { label: t("Row"), value: (x) => String(x.row), num: true },
          { label: t("Field"), value: (x) => x.field || "" },
          { label: t("Reason"), value: (x) => x.reason },
        ], r.rejected, t("Rejected rows")) : h("p", { text: t("No rows were rejected.") }));
      } finally {
        progress.value = 100;
      }
    });
  });

  const exportForm = h("form", { class: "card" }, h("button", { type: "submit", text: t("Export CSV") }));
  exportForm.addEventListener("submit", (e) => {
    e.preventDefault();
    submitting(exportForm, async () => {
      const res = await call("item-export", { raw: true });
      const link = h("a", { href: URL.createObjectURL(await res.blob()), download: "items.csv", text: "items.csv" });
      notice(exportForm, t("Done.")).append(" ", link);
      link.focus();
    }).catch((err) => showErrors(exportForm, err));
  });
  view.append(h("h1", { text: t("Import and export") }), form, report, exportForm);
}
