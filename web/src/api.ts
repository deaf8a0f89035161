// Typed helpers for the augchatd JSON API (SPEC §2.3, §2.5, §2.8), authenticated with the handshake JWT.
import { getJwt, retryOn401 } from "./handshake";

export type Mode = "demo" | "prod";

/** One stored message as GET /conversations/:cid/messages returns it. */
export type StoredMessage = {
  message_id: string;
  ordinal: number;
  role: "user" | "assistant" | "system";
  parts: unknown[];
  metadata: Record<string, unknown> | null;
};

/** An error carrying the HTTP status and the server's `{"error"}` token when there is one. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly token: string | null,
  ) {
    super(`HTTP ${status}${token ? ` ${token}` : ""}`);
  }
}

async function failure(res: Response): Promise<ApiError> {
  const body: unknown = await res.json().catch(() => null);
  const token =
    typeof body === "object" && body !== null && typeof (body as { error?: unknown }).error === "string"
      ? (body as { error: string }).error
      : null;
  return new ApiError(res.status, token);
}

async function authed(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("Authorization", `Bearer ${await getJwt()}`);
  return retryOn401(path, { ...init, headers });
}

/** GET /healthz (no auth) → the server mode. Anything but "demo" is treated as prod. */
export async function getHealth(): Promise<{ mode: Mode }> {
  const res = await fetch("/healthz");
  if (!res.ok) throw await failure(res);
  const body = (await res.json()) as { mode?: unknown };
  return { mode: body.mode === "demo" ? "demo" : "prod" };
}

/** POST /conversations with body {} → the server-minted conversation id. */
export async function createConversation(): Promise<{ conversation_id: string }> {
  const res = await authed("/conversations", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: "{}",
  });
  if (!res.ok) throw await failure(res);
  const body = (await res.json()) as { conversation_id?: unknown };
  if (typeof body.conversation_id !== "string" || body.conversation_id === "") {
    throw new Error("POST /conversations returned no conversation_id");
  }
  return { conversation_id: body.conversation_id };
}

/** GET /conversations/:cid/messages → the stored history, or null when the conversation is unknown (404). */
export async function getMessages(cid: string): Promise<{ messages: StoredMessage[] } | null> {
  const res = await authed(`/conversations/${encodeURIComponent(cid)}/messages`);
  if (res.status === 404) return null;
  if (!res.ok) throw await failure(res);
  const body = (await res.json()) as { messages?: unknown };
  if (!Array.isArray(body.messages)) throw new Error("GET messages returned no messages array");
  return { messages: body.messages as StoredMessage[] };
}
