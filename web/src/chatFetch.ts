// fetch for POST /chat: 401 → re-handshake and retry once, report flush-stalled 503s, and turn error bodies into readable text.
import { retryOn401 } from "./handshake";

/** A 503 whose X-Augchatd-Reason is flush-stalled means chat is read-only for now (SPEC §2.4). */
export const isFlushStalled = (res: Response): boolean =>
  res.status === 503 && res.headers.get("X-Augchatd-Reason") === "flush-stalled";

const READABLE: Record<string, string> = {
  flush_stalled: "Not sent: the service is temporarily read-only.",
  hot_write_failed: "The server could not save this conversation right now. Please try again.",
  missing_jwt: "Not signed in: the embedding page did not provide a session.",
  invalid_jwt: "Your session has expired. Reload the page to continue.",
  session_gone: "Your session has ended. Reload the page to continue.",
};

/** The message a failed /chat shows in the thread; the transport uses the body text as the error (P6). */
async function readableFailure(res: Response): Promise<string> {
  const body: unknown = await res.json().catch(() => null);
  const token =
    typeof body === "object" && body !== null && typeof (body as { error?: unknown }).error === "string"
      ? (body as { error: string }).error
      : null;
  return (token && READABLE[token]) ?? `Request failed (HTTP ${res.status}${token ? `: ${token}` : ""}).`;
}

/** Builds the transport's fetch; `onFlushStalled` is called when the server says chat is read-only. */
export function makeChatFetch(onFlushStalled: () => void): typeof fetch {
  return async (input, init) => {
    const res = await retryOn401(input, init);
    if (res.ok) return res;
    if (isFlushStalled(res)) onFlushStalled();
    return new Response(await readableFailure(res), { status: res.status, statusText: res.statusText, headers: res.headers });
  };
}
