// The page registry: every page is a declaration (its route, title, the functions it needs, the
// module that draws it). The menu shows a page only when the signed-in user's roles may call every
// function it needs; a new domain adds its pages here, each with a small module of its own.
export const PAGES = [
  { route: "items", title: "Items", needs: ["item-list", "category-list"], module: "./page-items.js", menu: true },
  { route: "item", title: "Item", needs: ["item-get", "item-price-history"], module: "./page-item.js" },
  { route: "item-new", title: "New item", needs: ["item-create", "category-list"], module: "./page-item-new.js", menu: true },
  { route: "import", title: "Import and export", needs: ["item-import", "item-import-get", "item-export"], module: "./page-import.js", menu: true },
  { route: "stock", title: "Stock", needs: ["stock-query", "sku-get", "warehouse-list"], module: "./page-stock.js", menu: true },
  { route: "stock-moves", title: "Stock moves", needs: ["stock-adjust", "stock-transfer", "stock-count", "warehouse-list"],
    module: "./page-stock-moves.js", menu: true },
  { route: "ledger", title: "Ledger", needs: ["stock-ledger"], module: "./page-ledger.js", menu: true },
  { route: "till", title: "Till", needs: ["sku-get", "order-create", "order-pay", "price-quote"], module: "./page-till.js", menu: true },
  { route: "orders", title: "Orders", needs: ["order-list"], module: "./page-orders.js", menu: true },
  { route: "order", title: "Order", needs: ["order-get"], module: "./page-order.js" },
  { route: "pos", title: "Purchase orders", needs: ["po-list"], module: "./page-pos.js", menu: true },
  { route: "po", title: "Purchase order", needs: ["po-get"], module: "./page-po.js" },
  { route: "workorders", title: "Work orders", needs: ["workorder-list"], module: "./page-workorders.js", menu: true },
  { route: "valuation", title: "Stock value", needs: ["cost-valuation", "warehouse-list"], module: "./page-valuation.js", menu: true },
  { route: "members", title: "Members", needs: ["member-list"], module: "./page-members.js", menu: true },
  { route: "promotions", title: "Promotions", needs: ["promo-list"], module: "./page-promotions.js", menu: true },
  { route: "users", title: "Users", needs: ["user-list", "user-create", "user-update"], module: "./page-users.js", menu: true },
  { route: "jobs", title: "Job runs", needs: ["job-run-list"], module: "./page-jobs.js", menu: true },
];
