// Small DOM helpers every page uses: elements, labelled fields with their error slots, the API's
// errors put next to the field they name, tables and pagers. No framework: plain modules.
import { t } from "./i18n.js";

let uid = 0;

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "text") el.textContent = v;
    else if (k in el && typeof v !== "string") el[k] = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

// A labelled input (or select/textarea) named as the API's field, with the slot its error goes in.
// hideLabel: the label is read out but not drawn (a grid cell, whose column header shows it).
export function field({ name, label, type = "text", value = "", options, required, attrs = {}, hint, hideLabel }) {
  const id = `f${++uid}`;
  const errId = `${id}-err`;
  let input;
  const common = { id, name, required, "aria-describedby": errId, ...attrs };
  if (options) {
    input = h("select", common, options.map(([v, text]) => h("option", { value: v, selected: String(v) === String(value) }, text)));
  } else if (type === "textarea") {
    input = h("textarea", { ...common, rows: 6, text: value });
  } else if (type === "checkbox") {
    input = h("input", { ...common, type, checked: !!value });
  } else {
    input = h("input", { ...common, type, value });
  }
  const wrap = h("div", { class: "field" }, h("label", { for: id, text: label, class: hideLabel ? "visually-hidden" : null }), input,
    hint ? h("span", { class: "muted", text: hint }) : null,
    h("p", { class: "field-error", id: errId, "data-error-for": name }));
  wrap.input = input;
  return wrap;
}

export function clearErrors(scope) {
  scope.querySelectorAll("[data-error-for]").forEach((p) => { p.textContent = ""; });
  scope.querySelectorAll("[aria-invalid]").forEach((i) => i.removeAttribute("aria-invalid"));
  scope.querySelectorAll(".alert, .notice").forEach((a) => a.remove());
}

// Every error detail beside the field it names (`skus[2].barcode`, or its nearest named parent);
// the rest, and the message, in an alert at the top of the form. Focus goes to the first one.
export function showErrors(scope, err) {
  clearErrors(scope);
  const loose = [];
  let first = null;
  for (const d of err.details || []) {
    let f = d.field || "";
    let slot = null;
    while (f) {
      slot = scope.querySelector(`[data-error-for="${CSS.escape(f)}"]`);
      if (slot) break;
      const parent = f.replace(/(\.[^.[\]]+|\[\d+\])$/, "");  // skus[2].barcode -> skus[2] -> skus
      f = parent === f ? "" : parent;
    }
    // A detail without a message (a conflict naming the line: allowed, requested...) says it with its values.
    const extra = Object.entries(d).filter(([k]) => !["field", "message", "type"].includes(k))
      .map(([k, v]) => `${k}: ${typeof v === "object" ? JSON.stringify(v) : v}`).join(", ");
    const text = d.message || d.reason || extra;
    if (slot) {
      slot.textContent = slot.textContent ? `${slot.textContent}; ${text}` : text;
      const input = scope.querySelector(`[aria-describedby="${slot.id}"]`);
      if (input) { input.setAttribute("aria-invalid", "true"); first = first || input; }
    } else {
      loose.push([d.field, text, text === extra ? "" : extra].filter(Boolean).join(" — "));
    }
  }
  const alert = h("div", { class: "alert", role: "alert" }, h("p", { text: err.message || t("Something went wrong.") }),
    loose.length ? h("ul", {}, loose.map((l) => h("li", { text: l }))) : null);
  scope.prepend(alert);
  (first || alert).focus?.();
  if (!first) { alert.tabIndex = -1; alert.focus(); }
}

// Lines sent are the drawn ones that were filled in: lines[k] of an error is the drawn line drawn[k].
export function someLines(values) {
  const drawn = [];
  values.forEach((v, i) => { if (v !== "" && Number(v) !== 0) drawn.push(i); });
  const rename = (err) => {
    for (const d of err.details || []) {
      if (typeof d.field === "string") d.field = d.field.replace(/^lines\[(\d+)\]/, (m, k) => `lines[${drawn[Number(k)] ?? k}]`);
    }
    return err;
  };
  return { drawn, rename };
}

export function notice(scope, text) {
  scope.querySelectorAll(".notice").forEach((a) => a.remove());
  const n = h("div", { class: "notice", role: "status", text });
  scope.prepend(n);
  return n;
}

// columns: [{label, value(row) -> text or node, num}]
export function table(columns, rows, caption) {
  if (!rows.length) return h("p", { class: "muted", text: t("Nothing found.") });
  return h("table", {}, caption ? h("caption", { class: "visually-hidden", text: caption }) : null,
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col", class: c.num ? "num" : null, text: c.label })))),
    h("tbody", {}, rows.map((r) => h("tr", {}, columns.map((c) => {
      const v = c.value(r);
      return h("td", { class: c.num ? "num" : null }, v === null || v === undefined ? "" : v);
    })))));
}

export function pager(page, go) {
  const pages = Math.max(1, Math.ceil(page.total / page.page_size));
  return h("div", { class: "pager" },
    h("button", { type: "button", disabled: page.page <= 1, onclick: () => go(page.page - 1), text: t("Previous page") }),
    h("span", { text: t("Page {p} of {n} ({t} rows)", { p: page.page, n: pages, t: page.total }) }),
    h("button", { type: "button", disabled: page.page >= pages, onclick: () => go(page.page + 1), text: t("Next page") }));
}

export function formData(form) {
  const out = {};
  for (const el of form.elements) {
    if (!el.name || el.disabled) continue;
    if (el.type === "checkbox") out[el.name] = el.checked;
    else if (el.value !== "") out[el.name] = el.value;
  }
  return out;
}

// Run an API call for a form: errors beside their fields, the button busy meanwhile.
export async function submitting(form, work) {
  const button = form.querySelector("button[type=submit]");
  clearErrors(form);
  if (button) button.disabled = true;
  form.setAttribute("aria-busy", "true");
  try {
    return await work();
  } catch (err) {
    showErrors(form, err);
    return undefined;
  } finally {
    if (button) button.disabled = false;
    form.removeAttribute("aria-busy");
  }
}

export function flattenTree(nodes, depth = 0, out = []) {
  for (const n of nodes) {
    out.push([n.id, `${"— ".repeat(depth)}${n.name}`]);
    flattenTree(n.children || [], depth + 1, out);
  }
  return out;
}
