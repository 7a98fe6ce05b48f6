// The console's shell: sign-in state, hash routes, language switch, messages.
import { ApiError, get, setToken, token } from "./api.js";
import { t, toggleLocale, translateStatic } from "./i18n.js";
import { board } from "./pages/board.js";
import { deal } from "./pages/deal.js";
import { pool } from "./pages/pool.js";
import { reports } from "./pages/reports.js";
import { signIn } from "./pages/sign_in.js";
import { tasks } from "./pages/tasks.js";

const main = document.getElementById("main");
const ctx = { user: null, render, flash };

const ROUTES = { board, tasks, pool, deal, reports };

export function flash(message, { ok = false, items = [] } = {}) {
  const box = document.getElementById("flash");
  box.className = ok ? "ok" : "";
  box.replaceChildren(document.createTextNode(message));
  if (items.length) {
    const list = document.createElement("ul");
    for (const item of items) list.append(Object.assign(document.createElement("li"), { textContent: item }));
    box.append(list);
  }
  box.hidden = false;
}

function clearFlash() { document.getElementById("flash").hidden = true; }

async function currentUser() {
  if (ctx.user || !token()) return ctx.user;
  try {
    ctx.user = (await get("/api/me")).user;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) setToken(null); else throw error;
  }
  return ctx.user;
}

async function render() {
  translateStatic();
  const user = await currentUser().catch(() => null);
  document.getElementById("nav").hidden = !user;
  document.getElementById("sign-out").hidden = !user;
  document.getElementById("who").textContent = user ? user.display_name : "";
  const [route, ...args] = location.hash.replace(/^#\/?/, "").split("/");
  // Each render draws into its own element: a page still loading when the user moves on writes into a
  // detached element instead of over the page that replaced it.
  const view = document.createElement("div");
  main.replaceChildren(view);
  if (!user) return signIn(view, ctx);
  const page = ROUTES[route] || board;
  for (const a of document.querySelectorAll("#nav a")) a.classList.toggle("active", a.getAttribute("href") === `#/${route || "board"}`);
  try {
    await page(view, ctx, ...args.map(decodeURIComponent));
  } catch (error) {
    flash(`${t("error")}: ${error.message}`);
  }
}

document.getElementById("lang").addEventListener("click", () => { toggleLocale(); render(); });
document.getElementById("sign-out").addEventListener("click", () => {
  setToken(null); ctx.user = null; location.hash = "#/"; render();
});
window.addEventListener("hashchange", () => { clearFlash(); render(); });
render();
