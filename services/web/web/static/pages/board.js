// A rep's deals by stage, one board per pipeline version; drag a card (or press 推进) to advance it.
import { ApiError, rpc } from "../api.js";
import { t } from "../i18n.js";
import { el, idOf } from "./dom.js";

const CLOSED = new Set(["won", "lost"]);

async function pipelinesOf(deals) {
  const keys = [...new Set(deals.map((d) => `${d.pipeline}@${d.pipeline_version}`))];
  const found = await Promise.all(keys.map((key) => {
    const [name, version] = key.split("@");
    return rpc("opportunities", "GetPipeline", { name, version: Number(version) });
  }));
  return new Map(keys.map((key, i) => [key, found[i]]));
}

async function advance(ctx, deal, targetStage) {
  try {
    const moved = await rpc("opportunities", "AdvanceStage",
      { name: deal.name, etag: deal.etag, target_stage: targetStage || "" });
    await ctx.render();
    ctx.flash(`${t("board.advanced")} ${moved.stage_display_name || moved.stage}: ${moved.title || moved.customer_company}`, { ok: true });
  } catch (error) {
    if (error instanceof ApiError && error.code === "FAILED_PRECONDITION" && error.preconditions.length) {
      ctx.flash(`${t("gate.refused")} ${deal.title || deal.customer_company}`,
        { items: error.preconditions.map((p) => p.description) });
    } else {
      ctx.flash(`${t("error")}: ${error.message}`);
    }
  }
}

function card(ctx, deal) {
  const node = el("div", { class: "card", draggable: "true", "data-testid": "deal-card", dataset: { deal: deal.name } },
    el("strong", {}, deal.title || deal.customer_company),
    el("div", { class: "meta" }, deal.customer_company),
    el("div", { class: "meta" }, deal.amount ? `${deal.amount} ${deal.currency}` : "",
      deal.expected_close_date ? ` · ${deal.expected_close_date}` : ""),
    el("div", { class: "actions" },
      el("button", { type: "button", "data-testid": "advance", onclick: () => advance(ctx, deal) }, t("board.advance")),
      el("a", { href: `#/deal/${idOf(deal.name)}` }, t("board.open"))));
  node.addEventListener("dragstart", (event) => event.dataTransfer.setData("text/plain", deal.name));
  return node;
}

function column(ctx, stage, deals, byName) {
  const node = el("div", { class: "column", "data-testid": "stage-column", dataset: { stage: stage.key } },
    el("h3", {}, `${stage.display_name} (${deals.length})`), deals.map((d) => card(ctx, d)));
  node.addEventListener("dragover", (event) => { event.preventDefault(); node.classList.add("over"); });
  node.addEventListener("dragleave", () => node.classList.remove("over"));
  node.addEventListener("drop", (event) => {
    event.preventDefault();
    node.classList.remove("over");
    const deal = byName.get(event.dataTransfer.getData("text/plain"));
    if (deal && deal.stage !== stage.key) advance(ctx, deal, stage.key);
  });
  return node;
}

export async function board(main, ctx) {
  const { opportunities: deals } = await rpc("opportunities", "ListOpportunities", { page_size: 200 });
  const open = deals.filter((d) => !CLOSED.has(d.stage_category));
  if (!open.length) {
    main.replaceChildren(el("p", { class: "muted" }, t("board.empty")));
    return;
  }
  const pipelines = await pipelinesOf(open);
  const byName = new Map(open.map((d) => [d.name, d]));
  const sections = [...pipelines].map(([key, pipeline]) => {
    const mine = open.filter((d) => `${d.pipeline}@${d.pipeline_version}` === key);
    const stages = pipeline.stages.filter((s) => !CLOSED.has(s.category));
    return el("section", { class: "panel" }, el("h2", {}, `${pipeline.display_name} v${pipeline.version}`),
      el("div", { class: "board" }, stages.map((s) => column(ctx, s, mine.filter((d) => d.stage === s.key), byName))));
  });
  main.replaceChildren(...sections);
}
