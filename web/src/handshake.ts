// postMessage handshake with the embedding page (SPEC §8.1): JWT and theme in memory only, one in-flight request, 401 → re-handshake.

/** The only origin we post to and accept `augchatd:jwt` from: `?parent_origin=`, else our own origin. */
export const parentOrigin: string =
  new URLSearchParams(location.search).get("parent_origin") ?? location.origin;

export type Theme = "light" | "dark";

export const HANDSHAKE_TIMEOUT_MS = 10_000;

let jwt: string | null = null;
let theme: Theme = "light";
let waiters: Array<(token: string) => void> = [];
let inflight: Promise<string> | null = null;

addEventListener("message", (event: MessageEvent) => {
  // Only our parent, and only from the expected origin; anything else is ignored silently.
  if (event.origin !== parentOrigin || event.source !== window.parent) return;
  const data: unknown = event.data;
  if (typeof data !== "object" || data === null) return;
  const msg = data as { type?: unknown; jwt?: unknown; theme?: unknown };
  if (msg.type !== "augchatd:jwt" || typeof msg.jwt !== "string" || msg.jwt === "") return;
  jwt = msg.jwt;
  theme = msg.theme === "dark" ? "dark" : "light"; // a missing or invalid theme means light
  const pending = waiters;
  waiters = [];
  pending.forEach((resolve) => resolve(msg.jwt as string));
});

/** Posts `augchatd:ready` and waits for a fresh JWT. Concurrent callers share one handshake. */
export function requestJwt(timeoutMs = HANDSHAKE_TIMEOUT_MS): Promise<string> {
  inflight ??= new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`parent did not reply to augchatd:ready within ${timeoutMs}ms`)),
      timeoutMs,
    );
    waiters.push((token) => {
      clearTimeout(timer);
      resolve(token);
    });
    window.parent.postMessage({ type: "augchatd:ready" }, parentOrigin);
  }).finally(() => {
    inflight = null;
  });
  return inflight;
}

/** The current JWT, handshaking first if we have none. */
export const getJwt = (): Promise<string> => (jwt ? Promise.resolve(jwt) : requestJwt());

/**
 * The routing key in a JWT's `rk` claim, or null. Behind a load balancer (README "Scale-out") every request
 * carries it as `X-Augchatd-Route` so all of a user's requests reach the daemon that holds their sessions.
 */
function routeKey(token: string): string | null {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const claims: unknown = JSON.parse(atob(payload));
    const rk = (claims as { rk?: unknown }).rk;
    return typeof rk === "string" && rk !== "" ? rk : null;
  } catch {
    return null;
  }
}

/** Sets `Authorization: Bearer <token>` and the routing header of the token on `headers`. */
export function setAuth(headers: Headers, token: string): Headers {
  headers.set("Authorization", `Bearer ${token}`);
  const rk = routeKey(token);
  if (rk) headers.set("X-Augchatd-Route", rk);
  else headers.delete("X-Augchatd-Route");
  return headers;
}

/** The auth headers of the current JWT, handshaking first if we have none. */
export const authHeaders = async (): Promise<Record<string, string>> =>
  Object.fromEntries(setAuth(new Headers(), await getJwt()).entries());

/** The theme from the last `augchatd:jwt` message. */
export const getTheme = (): Theme => theme;

/** Applies the theme to <html>: `data-theme="dark"`, or no attribute for light. */
export function applyTheme(value: Theme): void {
  if (value === "dark") document.documentElement.setAttribute("data-theme", "dark");
  else document.documentElement.removeAttribute("data-theme");
}

/** Tells the parent which route we are on, so a reload returns to the same conversation. */
export function postRoute(path: string): void {
  window.parent.postMessage({ type: "augchatd:route", path }, parentOrigin);
}

/** fetch that, on a 401, drops the JWT, re-handshakes and retries once with the new Bearer token. */
export const retryOn401: typeof fetch = async (input, init) => {
  const res = await fetch(input, init);
  if (res.status !== 401) return res;
  jwt = null;
  const headers = setAuth(new Headers(init?.headers), await requestJwt());
  return fetch(input, { ...init, headers });
};
