// Calling the functions through the gateway, as the signed-in user. The console is served at
// /console/ or /function/console/ on the same gateway, so every function is /function/<name>
// on this origin (or /function/<service>/<op> on the CE packing): the same on `make run` and on OpenFaaS.
const SESSION = "erp.session";
const RETURN_TO = "erp.returnTo";

export class ApiError extends Error {
  constructor(status, body) {
    const err = (body && body.error) || {};
    super(err.message || `HTTP ${status}`);
    this.status = status;
    this.code = err.code || "http_" + status;
    this.details = Array.isArray(err.details) ? err.details : [];
  }
}

export function session() {
  try { return JSON.parse(sessionStorage.getItem(SESSION)); } catch { return null; }
}

export function signedIn() {
  const s = session();
  return !!(s && s.token && Date.parse(s.expires_at) > Date.now());
}

export function startSession(login) {
  sessionStorage.setItem(SESSION, JSON.stringify({
    token: login.access_token, expires_at: login.expires_at, user: login.user,
  }));
}

// The session is over (signed out, expired, revoked): forget the token; keep the page the user
// was on, so signing in again brings them back to it.
export function endSession(keepPage) {
  sessionStorage.removeItem(SESSION);
  if (keepPage && location.hash && !location.hash.startsWith("#/signin")) sessionStorage.setItem(RETURN_TO, location.hash);
}

export function takeReturnTo() {
  const to = sessionStorage.getItem(RETURN_TO);
  sessionStorage.removeItem(RETURN_TO);
  return to;
}

let onExpired = () => {};
export function whenExpired(fn) { onExpired = fn; }

let declared = null;
let packed = false;
// The roles each function allows, from the declarations (served by the console function); and how
// the gateway serves the functions: one each (stack.yml: /function/user-me, which answers 401 with
// no token) or packed per service (stack.ce.yml: no function user-me, 404; /function/user/me).
export async function operations() {
  if (!declared) {
    const [ops, probe] = await Promise.all([fetch("operations.json"), fetch("/function/user-me")]);
    declared = await ops.json();
    packed = probe.status === 404;
  }
  return declared;
}

// Every role some function allows (admin included): the roles a user can be given.
export function knownRoles() {
  const roles = new Set(["admin"]);
  for (const op of Object.values(declared || {})) if (Array.isArray(op.roles)) op.roles.forEach((r) => roles.add(r));
  return [...roles].sort();
}

export function can(name) {
  const op = declared && declared[name];
  if (!op) return false;
  if (op.roles === "public") return true;
  const s = session();
  if (!s) return false;
  if (op.roles === "signed-in") return true;
  const roles = s.user.roles || [];
  return roles.includes("admin") || op.roles.some((r) => roles.includes(r));
}

function url(name, path = "", query) {
  const op = declared && declared[name];
  const base = packed && op ? `/function/${op.service}/${op.short}` : `/function/${name}`;
  let u = `${base}${path ? "/" + encodeURIComponent(path) : ""}`;
  if (query) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== "") q.set(k, v);
    const s = q.toString();
    if (s) u += "?" + s;
  }
  return u;
}

// call("item-list", {query: {...}}) / call("item-create", {body: {...}}) / call("order-pay", {path: "SO...", body})
export async function call(name, { path = "", query, body, method, idempotent = false, raw = false } = {}) {
  const headers = {};
  const s = session();
  if (s && s.token) headers.Authorization = `Bearer ${s.token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  // A retry of the same click (a double press, a timeout) does the work once.
  if (idempotent) headers["Idempotency-Key"] = crypto.randomUUID();
  if (s && Date.parse(s.expires_at) <= Date.now() && name !== "user-login") {
    endSession(true);
    onExpired();
    throw new ApiError(401, { error: { code: "token_expired", message: "expired" } });
  }
  const res = await fetch(url(name, path, query), {
    method: method || (body === undefined ? "GET" : "POST"), headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 401 && name !== "user-login") {
    endSession(true);
    onExpired();
  }
  if (!res.ok) {
    let data = null;
    try { data = await res.json(); } catch { /* not JSON: the status says enough */ }
    throw new ApiError(res.status, data);
  }
  if (raw) return res;
  return res.status === 204 ? {} : res.json();
}
