// Members: search by name, tier; their points and lifetime spend.
import { t } from "./i18n.js";
import { listPage } from "./list.js";

export const render = (view) => listPage(view, {
  fn: "member-list", title: t("Members"),
  filters: [{ name: "q", label: t("Search"), type: "search" }, { name: "tier", label: t("Tier") }],
  columns: [
    { label: t("Code"), value: (m) => m.code }, { label: t("Name"), value: (m) => m.name },
    { label: t("Tier"), value: (m) => m.tier }, { label: t("Points"), value: (m) => String(m.points_balance), num: true },
    { label: t("Lifetime spend"), value: (m) => m.lifetime_spend, num: true },
    { label: t("Active"), value: (m) => (m.is_active ? t("yes") : t("no")) },
  ],
});
