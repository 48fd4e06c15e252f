// Promotions: their kind, time window, and whether they are on.
import { t } from "./i18n.js";
import { listPage } from "./list.js";

export const render = (view) => listPage(view, {
  fn: "promo-list", title: t("Promotions"),
  filters: [{ name: "enabled", label: t("Enabled only"), type: "checkbox" }],
  columns: [
    { label: "ID", value: (p) => String(p.id), num: true }, { label: t("Name"), value: (p) => p.name },
    { label: t("Type"), value: (p) => p.kind }, { label: t("Enabled"), value: (p) => (p.enabled ? t("yes") : t("no")) },
    { label: t("Starts"), value: (p) => p.starts_at || "" }, { label: t("Ends"), value: (p) => p.ends_at || "" },
    { label: t("Used"), value: (p) => String(p.used_count), num: true },
  ],
});
