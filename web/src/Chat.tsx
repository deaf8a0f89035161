// Chat runtime: AI SDK transport to POST /chat (JWT, 401 retry, server conversation id in `id`) feeding the assistant-ui thread.
import { useMemo, useState } from "react";
import type { UIMessage } from "ai";
import { AssistantRuntimeProvider } from "@assistant-ui/react";
import { AssistantChatTransport, useChatRuntime } from "@assistant-ui/react-ai-sdk";
import { getJwt, retryOn401 } from "./handshake";
import { Thread } from "./Thread";

/** A 503 whose X-Augchatd-Reason is flush-stalled means chat is read-only for now (SPEC §2.4). */
const isFlushStalled = (res: Response): boolean =>
  res.status === 503 && res.headers.get("X-Augchatd-Reason") === "flush-stalled";

type Props = { conversationId: string; initialMessages: UIMessage[] };

export function Chat({ conversationId, initialMessages }: Props) {
  const [readOnly, setReadOnly] = useState(false);
  const transport = useMemo(
    () =>
      new AssistantChatTransport<UIMessage>({
        api: "/chat",
        headers: async () => ({ Authorization: `Bearer ${await getJwt()}` }),
        fetch: async (input, init) => {
          const res = await retryOn401(input, init);
          if (isFlushStalled(res)) setReadOnly(true);
          return res;
        },
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
