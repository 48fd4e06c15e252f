// The till: scan or type a barcode and press Enter (the line is added, or its quantity goes up),
// change quantities, see the total (priced by price-quote, as the order will be), pay, done.
// Keyboard only: Enter on an empty barcode field or F9 goes to payment, Escape comes back.
import { call } from "./api.js";
import { t } from "./i18n.js";
import { clearErrors, field, h, showErrors, submitting } from "./ui.js";

export async function render(view) {
  const lines = [];  // {code, barcode, name, price, qty}
  const barcode = field({ name: "barcode", label: t("Scan or type a barcode, then Enter"), attrs: {
    autofocus: true, autocomplete: "off", inputmode: "numeric" } });
  barcode.input.id = "till-barcode";  // the label follows the input's id
  barcode.querySelector("label").htmlFor = "till-barcode";
  const tbody = h("tbody", { id: "till-lines" });
  const total = h("output", { class: "total", id: "till-total", "aria-live": "polite", text: "0.00" });
  const scan = h("form", { class: "card", id: "till-scan" }, barcode,
    h("table", {}, h("caption", { text: t("Sale lines") }), h("thead", {}, h("tr", {},
      ["SKU", t("Name"), t("Price"), t("Qty"), ""].map((x) => h("th", { scope: "col", text: x })))), tbody));
  const method = field({ name: "method", label: t("Payment method"),
    options: ["cash", "card", "wechat", "alipay", "transfer", "other"].map((m) => [m, t(m)]) });
  const pay = h("form", { class: "card", id: "till-pay", hidden: true }, h("div", { class: "fields" }, method,
    h("button", { type: "submit", class: "primary", text: t("Confirm payment") })));
  // Arrow keys choose the method, Enter confirms (a select does not submit its form by itself).
  method.input.addEventListener("keydown", (e) => {
    if (e.key === "Enter") { e.preventDefault(); pay.requestSubmit(); }
  });
  const done = h("section", { class: "card", id: "till-done", hidden: true, "aria-live": "polite" });
  let quoting = 0;

  async function quote() {
    const mine = ++quoting;
    if (!lines.length) { total.textContent = "0.00"; return; }
    try {
      const q = await call("price-quote", { body: { lines: lines.map((l) => ({ sku: l.code, qty: l.qty })) } });
      if (mine === quoting) total.textContent = q.total;
    } catch (err) { if (mine === quoting) showErrors(scan, err); }
  }

  function draw() {
    tbody.replaceChildren(...lines.map((l, i) => {
      const qty = field({ name: `lines[${i}].qty`, label: `${t("Qty")} ${l.code}`, type: "number", value: l.qty, hideLabel: true,
        attrs: { min: 1, step: 1, class: "qty" } });
      qty.input.addEventListener("change", () => { l.qty = Math.max(1, Number(qty.input.value) || 1); quote(); });
      return h("tr", { "data-barcode": l.barcode || "", "data-code": l.code },
        h("td", { text: l.code }), h("td", { text: l.name }), h("td", { class: "num", text: l.price }), h("td", {}, qty),
        h("td", {}, h("button", { type: "button", "aria-label": `${t("Remove")} ${l.code}`, text: t("Remove"),
          onclick: () => { lines.splice(i, 1); draw(); quote(); barcode.input.focus(); } })));
    }));
  }

  async function add(text) {
    let sku;
    try {
      sku = await call("sku-get", { query: { barcode: text } });
    } catch (err) {
      if (err.status === 404 || err.status === 422) {
        try { sku = await call("sku-get", { query: { code: text } }); } catch { /* reported below */ }
      }
      if (!sku) {
        showErrors(scan, { message: t("No SKU has the barcode {b}.", { b: text }), details: [{ field: "barcode", message: err.message }] });
        barcode.input.focus();
        return;
      }
    }
    const line = lines.find((l) => l.code === sku.code);
    if (line) line.qty += 1;
    else lines.push({ code: sku.code, barcode: sku.barcode, name: sku.item.name, price: sku.price, qty: 1 });
    draw();
    quote();
  }

  function toPayment() {
    if (!lines.length) return;
    pay.hidden = false;
    method.input.focus();
  }

  // Enter on the barcode field itself: the form's implicit submission stops once quantity fields exist.
  scan.addEventListener("submit", (e) => e.preventDefault());
  barcode.input.addEventListener("keydown", (e) => {
    if (e.key !== "Enter") return;
    e.preventDefault();
    clearErrors(scan);
    const text = barcode.input.value.trim();
    barcode.input.value = "";
    if (text) add(text); else toPayment();
  });
  pay.addEventListener("submit", (e) => {
    e.preventDefault();
    submitting(pay, async () => {
      let order;
      try {
        order = await call("order-create", { idempotent: true, body: { lines: lines.map((l) => ({ sku: l.code, qty: l.qty })) } });
      } catch (err) { showErrors(scan, err); throw err; }
      const paid = await call("order-pay", { path: order.number, idempotent: true,
        body: { amount: order.amount_due, method: method.input.value } });
      const next = h("button", { type: "button", class: "primary", id: "till-next", text: t("New sale (Enter)"),
        onclick: () => { lines.length = 0; draw(); quote(); done.hidden = true; pay.hidden = true; barcode.input.focus(); } });
      done.replaceChildren(h("p", { class: "notice", role: "status" }, t("Paid: order {n}.", { n: paid.number }), " ",
        h("a", { href: `#/order/${paid.number}`, id: "till-order", text: paid.number }), ` · ${t("Total")}: ${paid.total_amount}`), next);
      done.hidden = false;
      pay.hidden = true;
      next.focus();
    });
  });
  view.addEventListener("keydown", (e) => {
    if (e.key === "F9") { e.preventDefault(); toPayment(); }
    if (e.key === "Escape" && !pay.hidden) { pay.hidden = true; barcode.input.focus(); }
  });
  view.append(h("h1", { text: t("Till") }), h("div", { class: "till" }, scan,
    h("div", {}, h("h2", { id: "total-label", text: t("Total") }), total, pay, done)));
}
