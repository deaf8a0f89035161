// Chat runtime: AI SDK transport to POST /chat (JWT, 401 retry, server conversation id in `id`) feeding the assistant-ui thread.
import { useMemo, useState } from "react";
import type { UIMessage } from "ai";
import { AssistantRuntimeProvider } from "@assistant-ui/react";
import { AssistantChatTransport, useChatRuntime } from "@assistant-ui/react-ai-sdk";
import { getJwt } from "./handshake";
import { makeChatFetch } from "./chatFetch";
import { Thread } from "./Thread";

type Props = { conversationId: string; initialMessages: UIMessage[] };

export function Chat({ conversationId, initialMessages }: Props) {
  const [readOnly, setReadOnly] = useState(false);
  const transport = useMemo(
    () =>
      new AssistantChatTransport<UIMessage>({
        api: "/chat",
        headers: async () => ({ Authorization: `Bearer ${await getJwt()}` }),
        fetch: makeChatFetch(() => setReadOnly(true)),
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
      <Thread readOnly={readOnly} />
    </AssistantRuntimeProvider>
  );
}
