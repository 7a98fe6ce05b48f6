// The caller's open tasks and their notices.
import { rpc } from "../api.js";
import { t } from "../i18n.js";
import { el, idOf } from "./dom.js";

export async function tasks(main) {
  const [{ tasks: mine }, { notifications }] = await Promise.all([
    rpc("opportunities", "ListMyTasks", {}),
    rpc("notify", "ListNotifications", { page_size: 50 }),
  ]);
  const open = mine.filter((task) => task.status !== "DONE");
  main.replaceChildren(
    el("section", { class: "panel", "data-testid": "tasks" }, el("h2", {}, t("tasks.title")),
      open.length ? el("ul", {}, open.map((task) => el("li", {},
        el("a", { href: `#/deal/${idOf(task.opportunity)}` }, task.title),
        el("span", { class: "muted" }, ` · ${t("tasks.due")} ${task.due_date}`)))) : el("p", { class: "muted" }, t("tasks.none"))),
    el("section", { class: "panel", "data-testid": "notices" }, el("h2", {}, t("notices.title")),
      notifications.length ? el("ul", {}, notifications.map((n) => el("li", { class: n.read ? "muted" : "" },
        el("strong", {}, n.title), " ", n.body))) : el("p", { class: "muted" }, t("notices.none"))));
}
