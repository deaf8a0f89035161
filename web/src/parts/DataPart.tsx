// Custom data parts: `data-augchatd-error` (a connector refused its credentials, SPEC §5.5) as a notice that also
// re-runs the JWT handshake once per part, so the next turn goes out with a fresh session; other data parts are not shown.
import { useEffect } from "react";
import { getExternalStoreMessages, useAuiState, type DataMessagePartComponent } from "@assistant-ui/react";
import type { UIMessage } from "ai";
import { requestJwt } from "../handshake";

type AugError = { code?: unknown; connectors?: unknown };

/** Messages loaded from storage: their old 401 parts were handled when they streamed. */
const historical = new Set<string>();
/** Parts (`<message id>:<part id>`) that have already triggered a handshake. */
const handled = new Set<string>();

/** Marks stored messages as history (called by Chat with the ids it was opened with). */
export function markHistorical(messageIds: string[]): void {
  messageIds.forEach((id) => historical.add(id));
}

/** The `id` of the message's `data-augchatd-error` part, from the original AI SDK message (assistant-ui drops it). */
function dataPartId(message: UIMessage | undefined): string {
  const part = message?.parts.find((p) => p.type === "data-augchatd-error") as { id?: unknown } | undefined;
  return typeof part?.id === "string" ? part.id : "augchatd-error";
}

/** Runs `augchatd:ready` → new JWT once for a live upstream_unauthorized part; the thread stays as it is. */
function useRehandshake(active: boolean) {
  const messageId = useAuiState((s) => s.message.id);
  const partId = useAuiState((s) => dataPartId(getExternalStoreMessages<UIMessage>(s.message)[0]));
  useEffect(() => {
    if (!active || historical.has(messageId)) return;
    const key = `${messageId}:${partId}`;
    if (handled.has(key)) return;
    handled.add(key);
    // A failed handshake is not fatal here: the next request's 401 retry asks again.
    requestJwt().catch(() => undefined);
  }, [active, messageId, partId]);
}

export const DataPart: DataMessagePartComponent = ({ name, data }) => {
  const { code, connectors } = (data ?? {}) as AugError;
  const unauthorized = name === "augchatd-error" && code === "upstream_unauthorized";
  useRehandshake(unauthorized);
  if (name !== "augchatd-error") return null;
  const list = Array.isArray(connectors) ? connectors.filter((c) => typeof c === "string").join(", ") : "";
  const text = unauthorized
    ? `A connected tool needs new credentials${list ? ` (${list})` : ""}; a fresh session was requested. Send your message again to retry.`
    : `Error${typeof code === "string" ? `: ${code}` : ""}.`;
  return (
    <div role="alert" data-testid="data-error" data-code={typeof code === "string" ? code : undefined} className="text-sm text-danger">
      ⚠ {text}
    </div>
  );
};
