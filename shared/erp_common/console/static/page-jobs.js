// The run log of scheduled jobs.
import { t } from "./i18n.js";
import { listPage } from "./list.js";

export const render = (view) => listPage(view, {
  fn: "job-run-list", title: t("Job runs"), pageSize: 50,
  filters: [{ name: "job", label: t("Job") }],
  columns: [
    { label: t("Job"), value: (r) => r.job }, { label: t("Status"), value: (r) => r.status },
    { label: t("Started"), value: (r) => r.started_at }, { label: t("Finished"), value: (r) => r.finished_at || "" },
    { label: t("Processed"), value: (r) => String(r.processed), num: true }, { label: t("Error"), value: (r) => r.error || "" },
  ],
});
