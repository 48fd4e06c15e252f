// One order: its lines, payments, shipments and refunds, and the actions the user's roles allow
// (pay, ship, cancel, return). The server decides which moves are legal and says why not.
import { call, can } from "./api.js";
import { t } from "./i18n.js";
import { field, h, notice, someLines, submitting, table } from "./ui.js";

export async function render(view, [ref], message) {
  const order = await call("order-get", { path: ref });
  // After an action the page is drawn again from the server's answer, the outcome on top.
  const rerender = (text) => render(view, [ref], text);
  view.replaceChildren();
  view.append(h("h1", { text: `${t("Order")} ${order.number}` }),
    h("p", { id: "order-status" }, `${t("Status")}: `, h("strong", { text: t(order.status) }),
      ` · ${t("Total")}: ${order.total_amount} · ${t("Paid")}: ${order.paid_amount} · ${t("Amount due")}: ${order.amount_due}`
      + ` · ${t("Refunded")}: ${order.refunded_amount}`),
    table([
      { label: "#", value: (l) => String(l.line_no), num: true }, { label: "SKU", value: (l) => l.sku_code },
      { label: t("Price"), value: (l) => l.unit_price, num: true }, { label: t("Qty"), value: (l) => l.quantity, num: true },
      { label: t("Amount"), value: (l) => l.amount, num: true }, { label: t("Shipped"), value: (l) => l.qty_shipped, num: true },
      { label: t("Returned"), value: (l) => l.qty_returned, num: true },
    ], order.lines, t("Lines")));
  const history = (title, rows) => (rows.length ? [h("h2", { text: title }), table([
    { label: t("When"), value: (r) => r.created_at }, { label: t("Amount"), value: (r) => r.amount ?? "", num: true },
    { label: t("Details"), value: (r) => r.method || (r.lines || []).map((l) => `${l.sku_code || l.sku || l.line_no} × ${l.qty ?? l.quantity}`).join(", ") },
    { label: t("By"), value: (r) => r.created_by }], rows, title)] : []);
  view.append(...history(t("Payments"), order.payments), ...history(t("Shipments"), order.shipments),
    ...history(t("Refunds"), order.refunds));

  const action = (fn, title, id, fields, body) => {
    if (!can(fn)) return null;
    const form = h("form", { class: "card", id }, h("h2", { text: title }), h("div", { class: "fields" }, ...fields,
      h("button", { type: "submit", class: "primary", text: title })));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      submitting(form, async () => {
        const [payload, rename] = body();
        try {
          await call(fn, { path: order.number, idempotent: true, body: payload });
        } catch (err) { throw rename ? rename(err) : err; }
        await rerender(t("Done."));
      });
    });
    return form;
  };
  const amount = field({ name: "amount", label: t("Amount"), value: order.amount_due, attrs: { inputmode: "decimal" } });
  const method = field({ name: "method", label: t("Payment method"),
    options: ["cash", "card", "wechat", "alipay", "transfer", "other"].map((m) => [m, t(m)]) });
  const reason = field({ name: "reason", label: t("Reason") });
  const returnReason = field({ name: "reason", label: t("Reason") });
  const returnQty = order.lines.map((l, i) => field({ name: `lines[${i}].qty`, label: t("Return qty line {n}", { n: l.line_no }),
    type: "number", attrs: { min: 0, step: 1 } }));
  view.append(...[
    order.status === "pending_payment" ? action("order-pay", t("Pay"), "pay", [amount, method],
      () => [{ amount: amount.input.value.trim(), method: method.input.value }]) : null,
    ["paid", "partially_shipped"].includes(order.status) ? action("order-ship", t("Ship"), "ship", [], () => [{}]) : null,
    ["pending_payment", "paid"].includes(order.status) ? action("order-cancel", t("Cancel order"), "cancel", [reason],
      () => [{ reason: reason.input.value.trim() }]) : null,
    ["partially_shipped", "shipped", "partially_returned"].includes(order.status)
      ? action("order-return", t("Return"), "return", [...returnQty, returnReason], () => {
        const { drawn, rename } = someLines(returnQty.map((q) => q.input.value.trim()));
        return [{ lines: drawn.map((i) => ({ line_no: order.lines[i].line_no, qty: returnQty[i].input.value.trim() })),
          reason: returnReason.input.value.trim() }, rename];
      }) : null,
  ].filter(Boolean));
  if (message) {
    const done = notice(view, message);
    done.tabIndex = -1;
    done.focus();
  }
}
