// One deal: its fields, team, decision chain, requirements, documents, samples and stage history.
import { rpc } from "../api.js";
import { t } from "../i18n.js";
import { el, table } from "./dom.js";

const orNone = (rows, render) => (rows.length ? render(rows) : el("p", { class: "muted" }, t("deal.none")));
const soft = (promise, empty) => promise.catch(() => empty);

export async function deal(main, ctx, id) {
  const name = `opportunities/${id}`;
  const opportunity = await rpc("opportunities", "GetOpportunity", { name });
  const [team, chain, requirements, documents, samples, history] = await Promise.all([
    soft(rpc("teams", "GetOpportunityTeam", { name: `${name}/team` }), { members: [] }),
    rpc("opportunities", "ListDecisionChain", { parent: name }),
    rpc("opportunities", "ListRequirements", { parent: name }),
    rpc("opportunities", "ListDocuments", { parent: name }),
    soft(rpc("samples", "ListSampleRequests", { opportunity: name, page_size: 50 }), { sample_requests: [] }),
    rpc("opportunities", "ListStageHistory", { name }),
  ]);
  const panel = (title, body, testid) => el("section", { class: "panel", "data-testid": testid }, el("h2", {}, title), body);
  main.replaceChildren(
    el("section", { class: "panel", "data-testid": "deal" }, el("h1", {}, opportunity.title || opportunity.customer_company),
      table([t("deal.stage"), t("deal.owner"), t("deal.amount"), t("deal.close")],
        [[opportunity.stage_display_name || opportunity.stage, opportunity.owner,
          opportunity.amount ? `${opportunity.amount} ${opportunity.currency}` : "", opportunity.expected_close_date]])),
    el("div", { class: "grid2" },
      panel(t("deal.team"), orNone(team.members || [], (rows) => table(["", ""],
        rows.map((m) => [m.display_name || m.user, m.role || ""]))), "team"),
      panel(t("deal.chain"), orNone(chain.contacts || [], (rows) => table(["", "", ""],
        rows.map((c) => [c.display_name, c.title, c.buying_role]))), "chain"),
      panel(t("deal.requirements"), orNone(requirements.requirements || [], (rows) => table(["", ""],
        rows.map((r) => [r.text, r.answer]))), "requirements"),
      panel(t("deal.documents"), orNone(documents.documents || [], (rows) => table(["", "", ""],
        rows.map((d) => [d.document, `v${d.version}`, d.uri]))), "documents"),
      panel(t("deal.samples"), orNone(samples.sample_requests || [], (rows) => table(["", ""],
        rows.map((s) => [s.name, s.state]))), "samples"),
      panel(t("deal.history"), orNone(history.entries || [], (rows) => table(["", "", ""],
        rows.map((h) => [h.stage_display_name || h.stage, h.enter_time || "", h.reason || ""]))), "history")));
}
