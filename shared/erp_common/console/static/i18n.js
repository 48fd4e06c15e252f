// Chinese and English. A text is written in English in the pages and looked up here for Chinese;
// the language comes from the browser (navigator.language) until the user switches it.
const ZH = {
  "Sign in": "登录", "Sign out": "退出", "Username": "用户名", "Password": "密码",
  "Your session has ended: sign in again.": "登录已过期，请重新登录。",
  "Skip to content": "跳到正文", "Main": "主菜单",
  "Items": "商品", "New item": "新建商品", "Import and export": "导入导出", "Stock": "库存",
  "Stock moves": "库存调整", "Ledger": "库存流水", "Till": "收银台", "Orders": "订单", "Order": "订单",
  "Users": "用户", "Job runs": "任务日志", "Categories": "分类",
  "Search": "搜索", "Category": "分类", "Status": "状态", "All": "全部", "Name": "名称", "Price": "价格",
  "SKUs": "SKU 数", "Brand": "品牌", "Unit": "单位", "Barcode": "条码", "Code": "编码",
  "Previous page": "上一页", "Next page": "下一页", "Page {p} of {n} ({t} rows)": "第 {p} / {n} 页（共 {t} 条）",
  "on_sale": "在售", "off_sale": "停售", "Save": "保存", "Saved.": "已保存。",
  "Colours (comma separated)": "颜色（逗号分隔）", "Sizes (comma separated)": "尺码（逗号分隔）",
  "Make SKUs": "生成 SKU", "Colour": "颜色", "Size": "尺码", "Create item": "创建商品",
  "Item {name} created with {n} SKUs.": "商品 {name} 已创建，共 {n} 个 SKU。",
  "Change price": "改价", "New price": "新价格", "Price changed.": "价格已修改。",
  "Price history": "调价记录", "Price change": "价格变动",
  "Import queued: {n} rows.": "导入已排队：{n} 行。", "{done} of {total} rows ({pct}%)": "已处理 {done} / {total} 行（{pct}%）",
  "The import failed: {error}": "导入失败：{error}",
  "CSV file": "CSV 文件", "Check only (dry run)": "仅检查（不导入）", "Import": "导入",
  "Rows": "行数", "Created items": "新建商品", "Updated items": "更新商品", "Created SKUs": "新建 SKU",
  "Updated SKUs": "更新 SKU", "Rejected rows": "拒绝的行", "Row": "行", "Field": "字段", "Reason": "原因",
  "No rows were rejected.": "没有被拒绝的行。", "Export CSV": "导出 CSV", "Import progress": "导入进度",
  "SKU code or barcode": "SKU 编码或条码", "Warehouse": "仓库", "Low stock only": "仅低库存",
  "On hand": "在库", "Reserved": "已预留", "Available": "可用", "Low": "低库存", "yes": "是", "no": "否",
  "Query": "查询", "Adjust": "调整", "Direction": "方向", "in": "入库", "out": "出库", "Quantity": "数量",
  "Type": "类型", "receipt": "收货", "adjust": "调整", "issue": "出库", "Transfer": "调拨", "From": "从", "To": "到",
  "Stocktake": "盘点", "Counted": "实盘数", "Done.": "完成。", "When": "时间", "Document": "单据", "By": "操作人",
  "Change": "变动", "After": "结存",
  "Scan or type a barcode, then Enter": "扫描或输入条码，按回车", "Qty": "数量", "Amount": "金额",
  "Remove": "删除", "Total": "合计", "Pay (F9)": "收款 (F9)", "Payment method": "支付方式",
  "cash": "现金", "card": "银行卡", "wechat": "微信", "alipay": "支付宝", "transfer": "转账", "other": "其他",
  "Confirm payment": "确认收款", "Paid: order {n}.": "已收款：订单 {n}。", "New sale (Enter)": "下一单（回车）",
  "No SKU has the barcode {b}.": "没有条码为 {b} 的 SKU。", "Lines": "明细", "Sale lines": "销售明细",
  "Number": "单号", "Created": "创建时间", "Paid": "已付", "Refunded": "已退款", "Amount due": "应付",
  "Pay": "收款", "Ship": "发货", "Cancel order": "取消订单", "Return": "退货", "Return qty line {n}": "第 {n} 行退货数量",
  "Shipped": "已发货", "Returned": "已退", "Payments": "收款记录", "Shipments": "发货记录", "Refunds": "退款记录",
  "pending_payment": "待付款", "paid": "已付款", "partially_shipped": "部分发货", "shipped": "已发货",
  "partially_returned": "部分退货", "returned": "已退货", "cancelled": "已取消",
  "Full name": "姓名", "Roles": "角色", "Active": "启用", "Create user": "创建用户", "Disable": "停用", "Enable": "启用",
  "Job": "任务", "Started": "开始", "Finished": "结束", "Processed": "处理数", "Error": "错误",
  "Open": "打开", "Loading…": "加载中…", "Nothing found.": "没有数据。", "Something went wrong.": "出错了。",
  "Actions": "操作", "Item": "商品", "Details": "详情", "Welcome, {name}.": "欢迎，{name}。",
  "Choose a page from the menu.": "请从菜单选择页面。", "Spec grid": "规格表", "Lines to count": "盘点明细",
  "Add line": "加一行", "Report": "导入结果", "Members": "会员", "Tier": "等级", "Points": "积分", "Lifetime spend": "累计消费",
  "Promotions": "促销", "Enabled only": "仅启用的", "Enabled": "启用", "Starts": "开始", "Ends": "结束", "Used": "已用",
  "Work orders": "生产工单", "Qty done": "完工数量", "Due": "交期", "Stock value": "库存价值", "Total value": "总价值",
  "As of": "截至", "Rows without a cost": "无成本的行", "Value": "价值", "released": "已下达", "in_progress": "生产中",
  "done": "已完工", "Purchase orders": "采购单", "Purchase order": "采购单", "Supplier": "供应商",
  "Expected": "预计到货", "Unit cost": "单价", "Received": "已收", "Receive qty line {n}": "第 {n} 行收货数量",
  "Approve": "审核", "Receive": "收货", "Close": "关闭", "Cancel": "取消", "draft": "草稿", "approved": "已审核",
  "partially_received": "部分收货", "received": "已收货", "closed": "已关闭", "Edit roles": "修改角色", "Count": "数量", "Roles of this user": "用户角色", "Language": "语言",
};

// The API's codes shown in English as words (the Chinese above covers them too).
const EN = {
  "on_sale": "On sale", "off_sale": "Off sale", "pending_payment": "Pending payment", "paid": "Paid",
  "partially_shipped": "Partially shipped", "shipped": "Shipped", "partially_returned": "Partially returned",
  "returned": "Returned", "cancelled": "Cancelled", "in": "In", "out": "Out", "receipt": "Receipt",
  "adjust": "Adjustment", "issue": "Issue", "cash": "Cash", "card": "Card", "wechat": "WeChat Pay",
  "alipay": "Alipay", "transfer": "Bank transfer", "other": "Other", "draft": "Draft", "approved": "Approved",
  "partially_received": "Partially received", "received": "Received", "closed": "Closed", "released": "Released",
  "in_progress": "In progress", "done": "Done",
};

const KEY = "erp.lang";
export let lang = localStorage.getItem(KEY) || ((navigator.language || "").toLowerCase().startsWith("zh") ? "zh" : "en");

export function t(text, vars = {}) {
  const s = (lang === "zh" ? ZH[text] : EN[text]) || text;
  return s.replace(/\{(\w+)\}/g, (_, k) => (k in vars ? String(vars[k]) : `{${k}}`));
}

export function setLang(next) {
  lang = next;
  localStorage.setItem(KEY, next);
}

export function htmlLang() { return lang === "zh" ? "zh-CN" : "en"; }
