// wsao_trio chat page: the sign-in session, shared by every tab of the browser.
//
// The token and name live in localStorage, so a second tab is signed in at once; a
// `storage` listener lets a sign-out (or a refreshed token) in one tab reach the
// others. Tokens are JWTs read here only for `sub`, `iat` and `exp` (the server checks
// the signature). When to renew a token on the socket is @wsao/client's business.

const KEY_TOKEN = "wsao:token";
const KEY_NAME = "wsao:name";

/** The claims of a JWT (unverified), or null when it is not one. */
export function jwtClaims(token) {
  try {
    const part = String(token).split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const json = decodeURIComponent(
      [...atob(part + "===".slice((part.length + 3) % 4))]
        .map((c) => "%" + c.charCodeAt(0).toString(16).padStart(2, "0"))
        .join(""),
    );
    const claims = JSON.parse(json);
    return claims && typeof claims === "object" ? claims : null;
  } catch {
    return null;
  }
}

/** Seconds since the epoch at which the token expires, or null. */
export function tokenExpiry(token) {
  const claims = jwtClaims(token);
  return claims && typeof claims.exp === "number" ? claims.exp : null;
}

export function tokenExpired(token, now = Date.now()) {
  const exp = tokenExpiry(token);
  return exp !== null && exp * 1000 <= now;
}

/** Ask the development server for a token: {token} on success, {disabled: true} when dev auth is off. */
export async function fetchDevToken(name) {
  const res = await fetch("/api/dev/token", {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify({ user_id: name }),
  });
  if (res.status === 404) return { disabled: true };
  if (res.status === 400) {
    const body = await res.json().catch(() => null);
    throw new Error(body && body.error ? `That name can't be used: ${body.error}.` : "That name can't be used.");
  }
  if (!res.ok) throw new Error(`The server could not sign you in (HTTP ${res.status}). Try again in a moment.`);
  const body = await res.json();
  if (!body || typeof body.token !== "string") throw new Error("The server's answer had no token in it.");
  return { token: body.token };
}

// ---------------------------------------------------------------- the shared session
function storage() {
  try {
    return window.localStorage;
  } catch {
    return null; // storage blocked (privacy settings): the session lives in this tab only
  }
}

/** The signed-in {token, name} this browser holds, or null. */
export function loadSession() {
  const store = storage();
  const token = store && store.getItem(KEY_TOKEN);
  const name = store && store.getItem(KEY_NAME);
  return token && name ? { token, name } : migrateTabSession();
}

// Earlier versions kept the session per tab (sessionStorage): carry it over once.
function migrateTabSession() {
  try {
    const token = sessionStorage.getItem(KEY_TOKEN);
    const name = sessionStorage.getItem(KEY_NAME);
    sessionStorage.removeItem(KEY_TOKEN);
    sessionStorage.removeItem(KEY_NAME);
    if (!token || !name) return null;
    saveSession(name, token);
    return { token, name };
  } catch {
    return null;
  }
}

/** Keep the session for every tab (the name first: other tabs react to the token key). */
export function saveSession(name, token) {
  const store = storage();
  if (!store) return;
  try {
    store.setItem(KEY_NAME, name);
    store.setItem(KEY_TOKEN, token);
  } catch {
    /* quota: this tab still works */
  }
}

export function clearSession() {
  const store = storage();
  if (!store) return;
  store.removeItem(KEY_TOKEN);
  store.removeItem(KEY_NAME);
}

/** Call `onChange(session | null)` when another tab signs in, refreshes or signs out. */
export function watchSession(onChange) {
  window.addEventListener("storage", (e) => {
    if (e.storageArea !== storage()) return;
    if (e.key === KEY_TOKEN || e.key === null) onChange(loadSession());
  });
}

/** The per-user event cache, shared by the tabs like the session. */
export const cacheStore = {
  get(key) {
    const store = storage();
    return store ? store.getItem(key) : null;
  },
  set(key, value) {
    const store = storage();
    if (store) store.setItem(key, value); // may throw on quota: the caller retries smaller
  },
  remove(key) {
    const store = storage();
    if (store) store.removeItem(key);
  },
};
