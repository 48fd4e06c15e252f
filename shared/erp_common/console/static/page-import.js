// CSV import (sent to run in the background: a progress bar of the rows done, then the rejected rows with
// their reasons) and export.
import { call } from "./api.js";
import { t } from "./i18n.js";
import { field, h, notice, showErrors, submitting, table } from "./ui.js";

const POLL_MS = 300;

function drawReport(r) {
  return [table([{ label: t("Report"), value: (x) => x[0] }, { label: t("Count"), value: (x) => String(x[1]), num: true }], [
    [t("Rows"), r.rows], [t("Created items"), r.created_items], [t("Updated items"), r.updated_items],
    [t("Created SKUs"), r.created_skus], [t("Updated SKUs"), r.updated_skus], [t("Rejected rows"), r.rejected.length]]),
  h("h2", { text: t("Rejected rows") }),
  r.rejected.length ? table([
    { label: t("Row"), value: (x) => String(x.row), num: true },
    { label: t("Field"), value: (x) => x.field || "" },
    { label: t("Reason"), value: (x) => x.reason },
  ], r.rejected, t("Rejected rows")) : h("p", { text: t("No rows were rejected.") })];
}

export async function render(view) {
  const file = field({ name: "csv", label: t("CSV file"), type: "file", attrs: { accept: ".csv,text/csv" } });
  const dry = field({ name: "dry_run", label: t("Check only (dry run)"), type: "checkbox" });
  // The bar is the server's count of rows done out of the file's rows; the same count is written out
  // beside it (and read with it, aria-describedby), so it is never a colour alone.
  const progressText = h("span", { id: "import-progress-text" });
  const progress = h("progress", { id: "import-progress", max: 1, value: 0, "aria-describedby": "import-progress-text" });
  const progressLabel = h("label", { for: "import-progress", text: t("Import progress") });
  const report = h("div", { "aria-live": "polite", id: "import-report" });
  const form = h("form", { class: "card" }, h("div", { class: "fields" }, file, dry,
    h("button", { type: "submit", class: "primary", text: t("Import") })), progressLabel, progress, " ", progressText);

  function show(done, total) {
    progress.max = Math.max(total, 1);  // an empty file is done at once: a full bar, not max=0
    progress.value = total ? Math.min(done, total) : progress.max;
    const pct = total ? Math.floor((100 * Math.min(done, total)) / total) : 100;
    progressText.textContent = t("{done} of {total} rows ({pct}%)", { done, total, pct });
  }

  // Read the import's progress until it is done (or failed), every POLL_MS. By name rather than the
  // 202's progress_url: that is /function/item-import-get/<id>, which the CE packing serves as
  // /function/item/import-get/<id>, and call() knows which of the two this gateway is.
  async function follow(queued) {
    for (;;) {
      const p = await call("item-import-get", { path: queued.import_id });
      show(p.rows_done, p.rows_total);
      if (p.status === "done") return p.report;
      if (p.status === "failed") throw { message: t("The import failed: {error}", { error: p.error || "" }) };
      if (!view.isConnected) return null;  // the user left the page: stop asking
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    report.replaceChildren();
    submitting(form, async () => {
      const chosen = file.input.files[0];
      if (!chosen) throw { message: t("CSV file"), details: [{ field: "csv", message: t("CSV file") }] };
      progress.removeAttribute("value");  // indeterminate until the server has counted the rows
      progressText.textContent = "";
      // Always in the background (202), so every import, small or large, shows its real progress.
      const r = await call("item-import", { body: { csv: await chosen.text(), dry_run: dry.input.checked, background: true },
        idempotent: true });
      let done = r;
      if (r.import_id !== undefined) {
        show(0, r.rows);
        done = await follow(r);
      } else {
        show(r.rows, r.rows);  // answered at once (a server that ran it in the request)
      }
      if (done) report.append(...drawReport(done));
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
