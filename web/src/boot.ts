// Boot sequence of SPEC §8.2: healthz → top-level check → handshake → theme → resolve or create the conversation.
import type { UIMessage } from "ai";
import { createConversation, getHealth, getMessages, type Mode, type StoredMessage } from "./api";
import { applyTheme, getTheme, requestJwt } from "./handshake";
import { cidFromPath, showConversationRoute } from "./route";

export type BootResult =
  | { kind: "top-level"; mode: Mode }
  | { kind: "ready"; mode: Mode; conversationId: string; initialMessages: UIMessage[] }
  | { kind: "error"; mode: Mode | null; message: string };

/** A stored message becomes an AI SDK UIMessage; the server's message_id is the UI id. */
export function toUIMessage(m: StoredMessage): UIMessage {
  return {
    id: m.message_id,
    role: m.role,
    parts: m.parts as UIMessage["parts"],
    ...(m.metadata ? { metadata: m.metadata } : {}),
  };
}

async function resolveConversation(): Promise<{ conversationId: string; initialMessages: UIMessage[] }> {
  const cid = cidFromPath(location.pathname);
  if (cid !== null) {
    // A 404 or any other error means: start a new conversation instead.
    const stored = await getMessages(cid).catch(() => null);
    if (stored) return { conversationId: cid, initialMessages: stored.messages.map(toUIMessage) };
  }
  const { conversation_id } = await createConversation();
  showConversationRoute(conversation_id);
  return { conversationId: conversation_id, initialMessages: [] };
}

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

async function runBoot(): Promise<BootResult> {
  let mode: Mode;
  try {
    mode = (await getHealth()).mode;
  } catch (err) {
    return { kind: "error", mode: null, message: `GET /healthz failed: ${messageOf(err)}` };
  }
  if (window.parent === window) return { kind: "top-level", mode };
  try {
    await requestJwt();
    applyTheme(getTheme());
    return { kind: "ready", mode, ...(await resolveConversation()) };
  } catch (err) {
    return { kind: "error", mode, message: messageOf(err) };
  }
}

let booting: Promise<BootResult> | null = null;

/** Runs the boot once per page load (StrictMode calls effects twice; P7). Never rejects. */
export const boot = (): Promise<BootResult> => (booting ??= runBoot());
