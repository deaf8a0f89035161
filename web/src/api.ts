// Typed helpers for the augchatd JSON API (SPEC §2.3, §2.5–§2.12), authenticated with the handshake JWT.
import { getJwt, retryOn401, setAuth } from "./handshake";
import { noteFailure } from "./readOnly";

export type Mode = "demo" | "prod";

/** One stored message as GET /conversations/:cid/messages returns it. */
export type StoredMessage = {
  message_id: string;
  ordinal: number;
  role: "user" | "assistant" | "system";
  parts: unknown[];
  metadata: Record<string, unknown> | null;
};

/** One row of GET /conversations. */
export type ConversationSummary = {
  conversation_id: string;
  title: string | null;
  message_count: number;
  model_id_override: string | null;
  updated_at: string;
};

/** One connector of GET /conversations/:cid/connectors. */
export type Connector = { descriptive_id: string; name: string; type: string; active: boolean };

/** One model of GET /session/models. */
export type ModelInfo = { id: string; display_name?: string | null };

/** GET /session/models: the provider's list and the session's default model. */
export type SessionModels = { models: ModelInfo[]; current_model_id: string; provider: string; cached: boolean };

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
  noteFailure(res);
  const body: unknown = await res.json().catch(() => null);
  const token =
    typeof body === "object" && body !== null && typeof (body as { error?: unknown }).error === "string"
      ? (body as { error: string }).error
      : null;
  return new ApiError(res.status, token);
}

async function authed(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = setAuth(new Headers(init.headers), await getJwt());
  return retryOn401(path, { ...init, headers });
}

const json = (body: unknown): RequestInit => ({
  headers: { "Content-Type": "application/json" },
  body: JSON.stringify(body),
});

const conversationPath = (cid: string): string => `/conversations/${encodeURIComponent(cid)}`;

/** GET /chat/:cid/stream: the conversation's running turn, replayed from its start (the AI SDK's resume). */
export const resumePath = (cid: string): string => `/chat/${encodeURIComponent(cid)}/stream`;

/** POST /chat/:cid/stop: ends the conversation's running turn on the server; resolves once its partial reply is
 * stored (the turn's stream then ends with `abort` and `finish`). */
export async function stopTurn(cid: string): Promise<void> {
  const res = await authed(`/chat/${encodeURIComponent(cid)}/stop`, { method: "POST" });
  if (!res.ok) throw await failure(res);
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
  const res = await authed("/conversations", { method: "POST", ...json({}) });
  if (!res.ok) throw await failure(res);
  const body = (await res.json()) as { conversation_id?: unknown };
  if (typeof body.conversation_id !== "string" || body.conversation_id === "") {
    throw new Error("POST /conversations returned no conversation_id");
  }
  return { conversation_id: body.conversation_id };
}

/** GET /conversations → the user's conversations, newest first. */
export async function listConversations(): Promise<ConversationSummary[]> {
  const res = await authed("/conversations");
  if (!res.ok) throw await failure(res);
  const body = (await res.json()) as { conversations?: unknown };
  if (!Array.isArray(body.conversations)) throw new Error("GET /conversations returned no conversations array");
  return body.conversations as ConversationSummary[];
}

/** DELETE /conversations/:cid → true when deleted, false when it was already gone (404). */
export async function deleteConversation(cid: string): Promise<boolean> {
  const res = await authed(conversationPath(cid), { method: "DELETE" });
  if (res.status === 404) return false;
  if (!res.ok) throw await failure(res);
  return true;
}

/** GET /conversations/:cid/messages → the stored history, or null when the conversation is unknown (404). */
export async function getMessages(cid: string): Promise<{ messages: StoredMessage[] } | null> {
  const res = await authed(`${conversationPath(cid)}/messages`);
  if (res.status === 404) return null;
  if (!res.ok) throw await failure(res);
  const body = (await res.json()) as { messages?: unknown };
  if (!Array.isArray(body.messages)) throw new Error("GET messages returned no messages array");
  return { messages: body.messages as StoredMessage[] };
}

/** GET /conversations/:cid/connectors → the connectors in scope with this conversation's flags. */
export async function getConnectors(cid: string): Promise<Connector[]> {
  const res = await authed(`${conversationPath(cid)}/connectors`);
  if (!res.ok) throw await failure(res);
  const body: unknown = await res.json();
  if (!Array.isArray(body)) throw new Error("GET connectors returned no array");
  return body as Connector[];
}

/** PUT /conversations/:cid/connectors/:descriptive_id {"active"} → 204. */
export async function setConnectorActive(cid: string, descriptiveId: string, active: boolean): Promise<void> {
  const res = await authed(`${conversationPath(cid)}/connectors/${encodeURIComponent(descriptiveId)}`, {
    method: "PUT",
    ...json({ active }),
  });
  if (!res.ok) throw await failure(res);
}

/** GET /session/models → the models the session's provider key can use. */
export async function getSessionModels(): Promise<SessionModels> {
  const res = await authed("/session/models");
  if (!res.ok) throw await failure(res);
  const body = (await res.json()) as Partial<SessionModels>;
  if (!Array.isArray(body.models) || typeof body.current_model_id !== "string") {
    throw new Error("GET /session/models returned an unexpected body");
  }
  return body as SessionModels;
}

/** PUT /conversations/:cid/model {"model_id"} → 204. */
export async function setConversationModel(cid: string, modelId: string): Promise<void> {
  const res = await authed(`${conversationPath(cid)}/model`, { method: "PUT", ...json({ model_id: modelId }) });
  if (!res.ok) throw await failure(res);
}
