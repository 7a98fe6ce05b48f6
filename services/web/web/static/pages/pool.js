// The lead pool (公海): claim a lead; the caller's own leads, each of which may go back with a reason.
import { rpc } from "../api.js";
import { t } from "../i18n.js";
import { el, table } from "./dom.js";

export async function pool(main, ctx) {
  const [{ leads: inPool }, { leads: held }, settings] = await Promise.all([
    rpc("leads", "ListLeads", { in_pool: true, page_size: 100 }),
    rpc("leads", "ListLeads", { page_size: 100 }),
    rpc("leads", "GetLeadSettings", {}).catch(() => ({ return_reasons: [] })),
  ]);
  const reasons = settings.return_reasons || [];
  const headers = [t("pool.company"), t("pool.contact"), "", t("pool.region"), t("pool.source")];

  const claim = async (lead) => {
    try {
      await rpc("leads", "ClaimLeads", { names: [lead.name] });
      await ctx.render();
      ctx.flash(`${t("pool.claimed")}: ${lead.company}`, { ok: true });
    } catch (error) { ctx.flash(`${t("error")}: ${error.message}`); }
  };
  const giveBack = async (lead, reason) => {
    try {
      await rpc("leads", "ReturnLead", { name: lead.name, reason });
      await ctx.render();
      ctx.flash(`${t("pool.returned")}: ${lead.company}`, { ok: true });
    } catch (error) { ctx.flash(`${t("error")}: ${error.message}`); }
  };
  const returnControl = (lead) => {
    const select = el("select", { "aria-label": t("pool.return") }, reasons.map((r) => el("option", { value: r }, r)));
    return el("span", {}, select, el("button", { type: "button", "data-testid": "return",
      onclick: () => giveBack(lead, select.value) }, t("pool.return")));
  };

  main.replaceChildren(
    el("section", { class: "panel", "data-testid": "pool" }, el("h2", {}, t("pool.title")),
      inPool.length ? table(headers, inPool.map((lead) => [lead.company, lead.contact_name,
        el("button", { type: "button", class: "primary", "data-testid": "claim", dataset: { lead: lead.name },
          onclick: () => claim(lead) }, t("pool.claim")), lead.region, lead.source]))
        : el("p", { class: "muted" }, t("pool.empty"))),
    el("section", { class: "panel", "data-testid": "my-leads" }, el("h2", {}, t("pool.mine")),
      table(headers, held.filter((lead) => lead.state !== "CONVERTED").map((lead) => [lead.company,
        lead.contact_name, lead.owner === ctx.user.name ? returnControl(lead) : "", lead.region, lead.source]))));
}
