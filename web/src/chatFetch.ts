// fetch for POST /chat and its resume (GET /chat/:cid/stream): 401 → re-handshake and retry once, report flush-stalled 503s, and turn error bodies (the
// session's limits included) into readable text.
import { retryOn401 } from "./handshake";
import { noteFailure } from "./readOnly";

const READABLE: Record<string, string> = {
  flush_stalled: "Not sent: the service is temporarily read-only.",
  hot_write_failed: "The server could not save this conversation right now. Please try again.",
  missing_jwt: "Not signed in: the embedding page did not provide a session.",
  invalid_jwt: "Your session has expired. Reload the page to continue.",
  session_gone: "Your session has ended. Reload the page to continue.",
  cold_read_failed: "This conversation could not be loaded right now. Please try again.",
  token_budget_exhausted: "Not sent: this chat session has used its token budget.",
  turn_limit_reached: "Not sent: this chat session has reached its limit of messages.",
  stream_not_resumable: "This reply is too long to show again here. It is saved when it ends: reopen the conversation then.",
  unknown_approval: "This tool call is no longer waiting for approval (it already ran, or the conversation changed). Reload to see it.",
  missing_approval: "Every tool call waiting for approval needs an answer before the reply can go on.",
  turn_in_progress: "A reply is still being written in this conversation; answer again once it has finished.",
};

type ErrorBody = { error?: unknown; connectors?: unknown };

/** The message a failed /chat shows in the thread; the transport uses the body text as the error (P6). */
async function readableFailure(res: Response): Promise<string> {
  const parsed: unknown = await res.json().catch(() => null);
  const body = (typeof parsed === "object" && parsed !== null ? parsed : {}) as ErrorBody;
  const token = typeof body.error === "string" ? body.error : null;
  if (token === "upstream_unauthorized") {
    // A connector's server refused the session's credentials before the reply started (SPEC §5.5); the
    // re-handshake of retryOn401 has already run once and did not bring usable credentials.
    const names = Array.isArray(body.connectors) ? body.connectors.filter((c) => typeof c === "string") : [];
    return (
      `A connected tool needs new credentials${names.length ? ` (${names.join(", ")})` : ""}; ` +
      "your message was not sent. Try again in a moment, or turn that tool off under Tools and resend."
    );
  }
  if (token === "rate_limited") {
    const seconds = Number(res.headers.get("retry-after"));
    return `Not sent: too many messages in a minute. Try again${seconds > 0 ? ` in ${seconds} s` : " shortly"}.`;
  }
  return (token && READABLE[token]) ?? `Request failed (HTTP ${res.status}${token ? `: ${token}` : ""}).`;
}

/** The transport's fetch: a flush-stalled 503 switches the UI to read-only (readOnly.ts). */
export const chatFetch: typeof fetch = async (input, init) => {
  const res = await retryOn401(input, init);
  if (res.ok) return res;
  noteFailure(res);
  return new Response(await readableFailure(res), { status: res.status, statusText: res.statusText, headers: res.headers });
};
