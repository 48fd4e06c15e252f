// Users and roles (admin): the list, a new user with roles, a user's roles changed, enable/disable.
import { call, knownRoles } from "./api.js";
import { t } from "./i18n.js";
import { field, h, notice, pager, showErrors, submitting, table } from "./ui.js";

function roleBoxes(prefix, checked = []) {
  return knownRoles().map((r) => field({ name: `${prefix}-${r}`, label: r, type: "checkbox", value: checked.includes(r) }));
}

function chosen(boxes) {
  return knownRoles().filter((r, i) => boxes[i].input.checked);
}

export async function render(view) {
  const edit = h("div", {});
  function editRoles(u, reload) {
    const boxes = roleBoxes("edit", u.roles);
    const form = h("form", { class: "card", id: "edit-roles" }, h("h2", { text: `${t("Roles")}: ${u.username}` }),
      h("fieldset", { "aria-describedby": "edit-roles-err" }, h("legend", { text: t("Roles of this user") }),
        h("div", { class: "fields" }, boxes)),
      h("p", { class: "field-error", id: "edit-roles-err", "data-error-for": "roles" }),
      h("button", { type: "submit", class: "primary", text: t("Save") }));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      submitting(form, async () => {
        await call("user-update", { path: String(u.id), body: { roles: chosen(boxes) } });
        edit.replaceChildren();
        await reload();
      });
    });
    edit.replaceChildren(form);
    boxes[0].input.focus();
  }
  const results = h("div", { "aria-live": "polite" });
  const q = field({ name: "q", label: t("Search"), type: "search" });
  const search = h("form", { class: "card", role: "search" }, h("div", { class: "fields" }, q,
    h("button", { type: "submit", text: t("Search") })));
  search.addEventListener("submit", (e) => { e.preventDefault(); load(1); });
  async function load(page = 1) {
    try {
      const data = await call("user-list", { query: { q: q.input.value.trim(), page, page_size: 50 } });
      results.replaceChildren(table([
        { label: "ID", value: (u) => String(u.id), num: true }, { label: t("Username"), value: (u) => u.username },
        { label: t("Full name"), value: (u) => u.full_name }, { label: t("Roles"), value: (u) => u.roles.join(", ") },
        { label: t("Active"), value: (u) => (u.is_active ? t("yes") : t("no")) },
        { label: t("Actions"), value: (u) => [
          h("button", { type: "button", text: `${u.is_active ? t("Disable") : t("Enable")} ${u.username}`,
            onclick: async () => {
              try { await call("user-update", { path: String(u.id), body: { is_active: !u.is_active } }); await load(page); }
              catch (err) { showErrors(search, err); }
            } }), " ",
          h("button", { type: "button", text: `${t("Edit roles")} ${u.username}`, onclick: () => editRoles(u, () => load(page)) })] },
      ], data.items, t("Users")), pager(data, load));
    } catch (err) { showErrors(search, err); }
  }
  const username = field({ name: "username", label: t("Username"), required: true, attrs: { autocomplete: "off" } });
  const password = field({ name: "password", label: t("Password"), type: "password", required: true, attrs: { autocomplete: "new-password" } });
  const fullName = field({ name: "full_name", label: t("Full name") });
  const newRoles = roleBoxes("role");
  const rolesError = h("p", { class: "field-error", id: "roles-err", "data-error-for": "roles" });
  const form = h("form", { class: "card" }, h("h2", { text: t("Create user") }),
    h("div", { class: "fields" }, username, password, fullName),
    h("fieldset", { "aria-describedby": "roles-err" }, h("legend", { text: t("Roles of this user") }), h("div", { class: "fields" }, newRoles)),
    rolesError, h("button", { type: "submit", class: "primary", text: t("Create user") }));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    submitting(form, async () => {
      await call("user-create", { idempotent: true, body: { username: username.input.value.trim(), password: password.input.value,
        full_name: fullName.input.value.trim(), roles: chosen(newRoles) } });
      notice(form, t("Saved."));
      q.input.value = username.input.value.trim();  // show the new user
      form.reset();
      await load(1);
    });
  });
  view.append(h("h1", { text: t("Users") }), form, search, results, edit);
  await load(1);
}
