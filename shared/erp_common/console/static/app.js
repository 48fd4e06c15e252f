// The console's shell: sign-in, the menu from the user's roles, and the hash router that loads
// each page's module from the registry (pages.js). Routes are #/<route>[/<param>], so the console
// works at any path the gateway serves it under (/console/, /function/console/).
import { call, can, endSession, operations, session, signedIn, startSession, takeReturnTo, whenExpired } from "./api.js";
import { htmlLang, lang, setLang, t } from "./i18n.js";
import { PAGES } from "./pages.js";
import { field, h, submitting } from "./ui.js";

const main = document.getElementById("main");
let expiredNote = false;

function allowed(page) { return page.needs.every(can); }

function chrome(current) {
  document.documentElement.lang = htmlLang();
  document.querySelector(".skip").textContent = t("Skip to content");
  const langButton = document.getElementById("lang");
  // The button names the other language in that language.
  langButton.textContent = lang === "zh" ? "English" : "中文";
  langButton.lang = lang === "zh" ? "en" : "zh-CN";
  langButton.setAttribute("aria-label", `${t("Language")}: ${langButton.textContent}`);
  const out = document.getElementById("signout");
  const s = signedIn() ? session() : null;
  out.hidden = !s;
  out.textContent = t("Sign out");
  document.getElementById("who").textContent = s ? `${s.user.full_name || s.user.username} (${s.user.roles.join(", ")})` : "";
  const nav = document.getElementById("nav");
  nav.setAttribute("aria-label", t("Main"));
  nav.replaceChildren();
  if (!s) return;
  nav.append(h("ul", {}, PAGES.filter((p) => p.menu && allowed(p)).map((p) =>
    h("li", {}, h("a", { href: `#/${p.route}`, "aria-current": p.route === current ? "page" : null, text: t(p.title) })))));
}

function signInPage() {
  chrome("signin");
  document.title = `${t("Sign in")} · ERP`;
  const user = field({ name: "username", label: t("Username"), required: true, attrs: { autocomplete: "username" } });
  const pass = field({ name: "password", label: t("Password"), type: "password", required: true, attrs: { autocomplete: "current-password" } });
  const form = h("form", { class: "card", id: "signin" }, h("div", { class: "fields" }, user, pass,
    h("button", { type: "submit", class: "primary", text: t("Sign in") })));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    submitting(form, async () => {
      const login = await call("user-login", { body: { username: user.input.value, password: pass.input.value } });
      startSession(login);
      expiredNote = false;
      const back = takeReturnTo();
      if (back && back !== location.hash) location.hash = back; else route();
    });
  });
  main.replaceChildren(h("h1", { text: t("Sign in") }),
    expiredNote ? h("p", { class: "alert", role: "alert", text: t("Your session has ended: sign in again.") }) : null, form);
  user.input.focus();
}

async function route() {
  const [name, ...rest] = location.hash.replace(/^#\/?/, "").split("/");
  if (!signedIn()) {
    if (session()) { expiredNote = true; endSession(true); }
    else if (name && name !== "signin") endSession(true);
    return signInPage();
  }
  const page = PAGES.find((p) => p.route === name);
  chrome(page ? page.route : "");
  if (!page || !allowed(page)) {
    const s = session();
    main.replaceChildren(h("h1", { text: t("Welcome, {name}.", { name: s.user.full_name || s.user.username }) }),
      h("p", { text: t("Choose a page from the menu.") }));
    document.title = "ERP";
    return;
  }
  document.title = `${t(page.title)} · ERP`;
  main.replaceChildren(h("p", { class: "muted", text: t("Loading…") }));
  main.setAttribute("aria-busy", "true");
  const module = await import(page.module);
  const view = h("div", { "data-page": page.route });
  try {
    await module.render(view, rest.map(decodeURIComponent));
  } finally {
    main.removeAttribute("aria-busy");
  }
  main.replaceChildren(view);
  main.focus({ preventScroll: true });
  view.querySelector("[autofocus]")?.focus();
}

whenExpired(() => { expiredNote = true; signInPage(); });
document.getElementById("lang").addEventListener("click", () => { setLang(lang === "zh" ? "en" : "zh"); route(); });
document.getElementById("signout").addEventListener("click", () => {
  endSession(false);
  if (location.hash === "#/signin") route(); else location.hash = "#/signin";
});
// A token that expires while the page sits open: back to sign-in, the page kept for afterwards.
setInterval(() => { if (session() && !signedIn()) { expiredNote = true; endSession(true); signInPage(); } }, 15000);
window.addEventListener("hashchange", route);
await operations();
route();
