// One purchase order: its lines and receipts, and the actions its workflow allows now
// (`allowed_actions`, from the server) that the user's roles may call: approve, receive, close, cancel.
import { call, can } from "./api.js";
import { t } from "./i18n.js";
import { field, h, notice, someLines, submitting, table } from "./ui.js";

export async function render(view, [ref], message) {
  const po = await call("po-get", { path: ref });
  view.replaceChildren(h("h1", { text: `${t("Purchase order")} ${po.number}` }),
    h("p", { id: "po-status" }, `${t("Status")}: `, h("strong", { text: t(po.status) }), ` · ${t("Total")}: ${po.total_amount}`),
    table([
      { label: "#", value: (l) => String(l.line_no), num: true }, { label: "SKU", value: (l) => l.sku_code },
      { label: t("Quantity"), value: (l) => l.quantity, num: true }, { label: t("Unit cost"), value: (l) => l.unit_cost, num: true },
      { label: t("Amount"), value: (l) => l.amount, num: true }, { label: t("Received"), value: (l) => l.qty_received, num: true },
    ], po.lines, t("Lines")));
  const allowed = (action) => po.allowed_actions.includes(action) && can(`po-${action}`);
  const form = (action, title, fields, body) => {
    const f = h("form", { class: "card", id: `po-${action}` }, h("h2", { text: title }), h("div", { class: "fields" }, ...fields,
      h("button", { type: "submit", class: "primary", text: title })));
    f.addEventListener("submit", (e) => {
      e.preventDefault();
      submitting(f, async () => {
        const [payload, rename] = body();
        try {
          await call(`po-${action}`, { path: po.number, idempotent: action === "approve" || action === "receive", body: payload });
        } catch (err) { throw rename ? rename(err) : err; }
        await render(view, [ref], t("Done."));
      });
    });
    return f;
  };
  const qty = po.lines.map((l, i) => field({ name: `lines[${i}].qty`, label: t("Receive qty line {n}", { n: l.line_no }),
    type: "number", attrs: { min: 0, step: "any" } }));
  const reason = field({ name: "reason", label: t("Reason") });
  view.append(...[
    allowed("approve") ? form("approve", t("Approve"), [], () => [{}]) : null,
    allowed("receive") ? form("receive", t("Receive"), qty, () => {
      const { drawn, rename } = someLines(qty.map((q) => q.input.value.trim()));
      return [{ lines: drawn.map((i) => ({ line_no: po.lines[i].line_no, qty: qty[i].input.value.trim() })) }, rename];
    }) : null,
    allowed("close") ? form("close", t("Close"), [reason], () => [{ reason: reason.input.value.trim() }]) : null,
    allowed("cancel") ? form("cancel", t("Cancel"), [], () => [{}]) : null,
  ].filter(Boolean));
  if (message) {
    const done = notice(view, message);
    done.tabIndex = -1;
    done.focus();
  }
}
