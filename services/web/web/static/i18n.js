// Chinese first; English on request (remembered in localStorage).
const TEXT = {
  "zh-CN": {
    brand: "商机", "nav.board": "看板", "nav.tasks": "待办与通知", "nav.pool": "线索公海", "nav.reports": "报表",
    "lang.switch": "English", signOut: "退出", "signIn.title": "开发环境登录", "signIn.user": "用户 ID（users/…）",
    "signIn.submit": "登录", "signIn.off": "生产环境请通过网关登录。", "board.empty": "暂无可见商机",
    "board.advance": "推进", "board.open": "详情", "board.advanced": "已推进到",
    "gate.refused": "阶段门未通过：", "tasks.title": "我的待办", "tasks.none": "暂无待办", "tasks.due": "截止",
    "notices.title": "通知", "notices.none": "暂无通知", "pool.title": "公海线索", "pool.mine": "我的线索",
    "pool.claim": "领取", "pool.return": "退回公海", "pool.claimed": "已领取", "pool.returned": "已退回公海",
    "pool.empty": "公海为空", "pool.company": "公司", "pool.contact": "联系人", "pool.region": "地区",
    "pool.source": "来源", "deal.team": "团队", "deal.chain": "决策链", "deal.requirements": "需求",
    "deal.documents": "文档", "deal.samples": "样品申请", "deal.history": "阶段历史", "deal.none": "无",
    "deal.owner": "负责人", "deal.amount": "金额", "deal.close": "预计成交", "deal.stage": "阶段",
    "reports.funnel": "销售漏斗", "reports.forecast": "预测与目标", "reports.winloss": "赢单/丢单",
    "reports.department": "部门", "reports.period": "期间", "reports.total": "合计",
    "reports.unavailable": "报表服务尚未提供", "reports.count": "数量", "reports.amount": "金额",
    "reports.target": "目标", "reports.weighted": "加权预测", "reports.won": "赢单", "reports.lost": "丢单",
    error: "出错了",
  },
  en: {
    brand: "Shangji", "nav.board": "Board", "nav.tasks": "Tasks & notices", "nav.pool": "Lead pool",
    "nav.reports": "Reports", "lang.switch": "中文", signOut: "Sign out", "signIn.title": "Development sign-in",
    "signIn.user": "User id (users/…)", "signIn.submit": "Sign in",
    "signIn.off": "In production, sign in through the gateway.", "board.empty": "No deals you may see",
    "board.advance": "Advance", "board.open": "Open", "board.advanced": "Advanced to",
    "gate.refused": "The stage gate refused:", "tasks.title": "My tasks", "tasks.none": "No tasks",
    "tasks.due": "due", "notices.title": "Notices", "notices.none": "No notices", "pool.title": "Pool leads",
    "pool.mine": "My leads", "pool.claim": "Claim", "pool.return": "Return to pool", "pool.claimed": "Claimed",
    "pool.returned": "Returned to the pool", "pool.empty": "The pool is empty", "pool.company": "Company",
    "pool.contact": "Contact", "pool.region": "Region", "pool.source": "Source", "deal.team": "Team",
    "deal.chain": "Decision chain", "deal.requirements": "Requirements", "deal.documents": "Documents",
    "deal.samples": "Sample requests", "deal.history": "Stage history", "deal.none": "None",
    "deal.owner": "Owner", "deal.amount": "Amount", "deal.close": "Expected close", "deal.stage": "Stage",
    "reports.funnel": "Funnel", "reports.forecast": "Forecast vs target", "reports.winloss": "Win / loss",
    "reports.department": "Department", "reports.period": "Period", "reports.total": "Total",
    "reports.unavailable": "The reporting service is not available yet", "reports.count": "Count",
    "reports.amount": "Amount", "reports.target": "Target", "reports.weighted": "Weighted forecast",
    "reports.won": "Won", "reports.lost": "Lost", error: "Something went wrong",
  },
};

export function locale() {
  return localStorage.getItem("shangji.locale") === "en" ? "en" : "zh-CN";
}

export function toggleLocale() {
  localStorage.setItem("shangji.locale", locale() === "en" ? "zh-CN" : "en");
}

export function t(key) {
  return TEXT[locale()][key] ?? TEXT["zh-CN"][key] ?? key;
}

export function translateStatic(root = document) {
  document.documentElement.lang = locale();
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
}
