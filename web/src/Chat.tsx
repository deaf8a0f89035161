// Chat runtime: the conversation's AI SDK chat (turn.ts: POST /chat, server-side Stop, resume) feeding the assistant-ui thread.
import { useEffect, useRef } from "react";
import type { UIMessage } from "ai";
import { AssistantRuntimeProvider, useAuiState } from "@assistant-ui/react";
import { useAISDKRuntime } from "@assistant-ui/react-ai-sdk";
import { markHistorical } from "./parts/DataPart";
import { Thread } from "./Thread";
import { useTurnChat } from "./turn";

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
  const runtime = useAISDKRuntime(useTurnChat(conversationId, initialMessages));
  return (
    <AssistantRuntimeProvider runtime={runtime}>
      <TurnWatcher onFinished={onTurnFinished} />
      <Thread />
    </AssistantRuntimeProvider>
  );
}
