// Chat runtime: AI SDK transport to POST /chat (JWT, 401 retry, server conversation id in `id`) feeding the assistant-ui thread.
import { useEffect, useMemo, useRef } from "react";
import type { UIMessage } from "ai";
import { AssistantRuntimeProvider, useAuiState } from "@assistant-ui/react";
import { AssistantChatTransport, useChatRuntime } from "@assistant-ui/react-ai-sdk";
import { authHeaders } from "./handshake";
import { chatFetch } from "./chatFetch";
import { markHistorical } from "./parts/DataPart";
import { Thread } from "./Thread";

type Props = { conversationId: string; initialMessages: UIMessage[]; onTurnFinished: () => void };

/** Calls `onFinished` each time the thread goes from running to idle (a turn ended, stopped or failed). */
function TurnWatcher({ onFinished }: { onFinished: () => void }) {
  const running = useAuiState((s) => s.thread.isRunning);
  const wasRunning = useRef(running);
  useEffect(() => {
    if (wasRunning.current && !running) onFinished();
    wasRunning.current = running;
  }, [running, onFinished]);
  return null;
}

/** One conversation's runtime; Shell mounts a fresh one (keyed by cid) for each conversation it opens. */
export function Chat({ conversationId, initialMessages, onTurnFinished }: Props) {
  // Stored messages are history: their data parts must not trigger a new handshake (DataPart.tsx).
  markHistorical(initialMessages.map((m) => m.id));
  const transport = useMemo(
    () =>
      new AssistantChatTransport<UIMessage>({
        api: "/chat",
        headers: authHeaders,
        fetch: chatFetch,
        // The body is sent exactly as returned: the server's conversation id goes in `id` (P5).
        prepareSendMessagesRequest: ({ messages, trigger, messageId, headers }) => ({
          body: { id: conversationId, messages, trigger, messageId },
          headers,
        }),
      }),
    [conversationId],
  );
  const runtime = useChatRuntime<UIMessage>({ transport, messages: initialMessages });
  return (
    <AssistantRuntimeProvider runtime={runtime}>
      <TurnWatcher onFinished={onTurnFinished} />
      <Thread />
    </AssistantRuntimeProvider>
  );
}
