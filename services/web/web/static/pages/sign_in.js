import { get, post, setToken } from "../api.js";
import { t } from "../i18n.js";
import { el } from "./dom.js";

export async function signIn(main, ctx) {
  const config = await get("/api/config");
  if (!config.dev_sign_in) {
    main.replaceChildren(el("p", {}, t("signIn.off")));
    return;
  }
  const input = el("input", { name: "user", "data-testid": "sign-in-user", required: true, autocomplete: "off" });
  const form = el("form", { class: "sign-in" }, el("h2", {}, t("signIn.title")),
    el("label", {}, t("signIn.user"), input), el("button", { class: "primary", type: "submit" }, t("signIn.submit")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const answer = await post("/api/dev/sign-in", { user: input.value });
      setToken(answer.token);
      ctx.user = answer.user;
      if (location.hash === "#/board") ctx.render(); else location.hash = "#/board";
    } catch (error) {
      ctx.flash(`${t("error")}: ${error.message}`);
    }
  });
  main.replaceChildren(form);
}
