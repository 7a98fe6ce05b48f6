// A manager's funnel, forecast against target and win/loss, for a department they may see (or all they see).
import { rpc } from "../api.js";
import { t } from "../i18n.js";
import { el, table } from "./dom.js";

const REPORTS = "opportunity_reports";

function chart(node, option) {
  const instance = echarts.init(node, null, { renderer: "svg" });
  instance.setOption({ animation: false, ...option });
  new ResizeObserver(() => instance.resize()).observe(node);
}

function period() {
  const year = new Date().getFullYear();
  return { start_date: `${year}-01-01`, end_date: `${year}-12-31` };
}

let drawing = 0;

async function draw(body, scope) {
  const mine = ++drawing;
  const request = { scope, period: period() };
  const [funnel, forecast, winLoss] = await Promise.all([
    rpc(REPORTS, "GetFunnelReport", request),
    rpc(REPORTS, "GetForecastReport", { ...request, group_by: "MONTH" }),
    rpc(REPORTS, "GetWinLossReport", request),
  ]);
  if (mine !== drawing) return; // a later choice of department is being drawn
  const stages = funnel.stages.filter((s) => s.category !== "won" && s.category !== "lost");
  const count = stages.reduce((sum, s) => sum + Number(s.count), 0);
  const amount = stages.reduce((sum, s) => sum + Number(s.amount || 0), 0);
  const funnelChart = el("div", { class: "chart", "data-testid": "funnel-chart" });
  const forecastChart = el("div", { class: "chart", "data-testid": "forecast-chart" });
  const winLossChart = el("div", { class: "chart", "data-testid": "winloss-chart" });
  body.replaceChildren(el("div", { class: "grid2" },
    el("section", { class: "panel", "data-testid": "funnel" }, el("h2", {}, t("reports.funnel")), funnelChart,
      table([t("deal.stage"), t("reports.count"), t("reports.amount")],
        [...stages.map((s) => [s.display_name || s.stage, String(s.count), s.amount]),
         [t("reports.total"), el("span", { "data-testid": "funnel-total-count" }, String(count)),
          el("span", { "data-testid": "funnel-total-amount" }, amount.toFixed(2))]])),
    el("section", { class: "panel" }, el("h2", {}, t("reports.forecast")), forecastChart),
    el("section", { class: "panel" }, el("h2", {}, t("reports.winloss")), winLossChart,
      el("p", {}, `${t("reports.won")} ${winLoss.won_count} · ${t("reports.lost")} ${winLoss.lost_count}`))));
  chart(funnelChart, {
    tooltip: {}, series: [{ type: "funnel", sort: "none", left: "10%", width: "80%",
      data: stages.map((s) => ({ name: s.display_name || s.stage, value: Number(s.count) })) }],
  });
  const months = forecast.buckets.map((b) => b.start_date.slice(0, 7));
  chart(forecastChart, {
    tooltip: { trigger: "axis" }, legend: {}, xAxis: { type: "category", data: months }, yAxis: { type: "value" },
    series: [
      { name: t("reports.weighted"), type: "bar", data: forecast.buckets.map((b) => Number(b.weighted_amount || 0)) },
      { name: t("reports.won"), type: "bar", data: forecast.buckets.map((b) => Number(b.won_amount || 0)) },
      { name: t("reports.target"), type: "line", data: forecast.buckets.map((b) => Number(b.target_amount || 0)) },
    ],
  });
  chart(winLossChart, {
    tooltip: {}, legend: {},
    series: [{ type: "pie", radius: ["35%", "65%"], stillShowZeroSum: false, data: [
      { name: t("reports.won"), value: Number(winLoss.won_count) },
      { name: t("reports.lost"), value: Number(winLoss.lost_count) }] }],
  });
}

export async function reports(main, ctx) {
  const { departments } = await rpc("teams", "ListDepartments", { page_size: 200 }).catch(() => ({ departments: [] }));
  const picker = el("select", { "data-testid": "department", "aria-label": t("reports.department") },
    el("option", { value: "" }, "—"),
    departments.map((d) => el("option", { value: d.name, selected: d.name === ctx.user.department }, d.display_name)));
  const body = el("div");
  const refresh = () => draw(body, picker.value ? { department: picker.value } : {})
    .catch((error) => ctx.flash(`${t("reports.unavailable")}: ${error.message}`));
  picker.addEventListener("change", refresh);
  main.replaceChildren(el("p", {}, el("label", {}, `${t("reports.department")} `, picker)), body);
  await refresh();
}
