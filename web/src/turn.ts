// A conversation's turn runs on the server whether or not this page is connected (issue #8 item 1). Stop ends it there
// (POST /chat/:cid/stop) instead of only dropping the connection, and a stream that broke on the network, or a page
// (re)loaded while a turn runs, gets the same turn back through the AI SDK's resume: GET /chat/:cid/stream replays it
// from its `start`, on which the SDK rebuilds the message, so nothing shows twice or goes missing.
import { useCallback, useEffect, useMemo, useRef } from "react";
import { DefaultChatTransport, lastAssistantMessageIsCompleteWithApprovalResponses, type UIMessage } from "ai";
import { useChat } from "@ai-sdk/react";
import { getMessages, resumePath, stopTurn } from "./api";
import { toUIMessage } from "./boot";
import { chatFetch } from "./chatFetch";
import { authHeaders } from "./handshake";
import { markHistorical } from "./parts/DataPart";

/** useChat for one conversation, with a server-side Stop and resume after a dropped stream or a reload. */
export function useTurnChat(conversationId: string, initialMessages: UIMessage[]) {
  // The answer to the POST /chat in flight: a stop waits for it, so the turn is registered before it is stopped.
  const posted = useRef<Promise<unknown>>(Promise.resolve());
  const transport = useMemo(
    () =>
      new DefaultChatTransport<UIMessage>({
        api: "/chat",
        headers: authHeaders,
        fetch: (input, init) => {
          const answered = chatFetch(input, init);
          if (init?.method === "POST") posted.current = answered.catch(() => undefined);
          return answered;
        },
        // The body is sent exactly as returned: the server's conversation id goes in `id` (P5).
        prepareSendMessagesRequest: ({ messages, trigger, messageId, headers }) => ({
          body: { id: conversationId, messages, trigger, messageId },
          headers,
        }),
        prepareReconnectToStreamRequest: ({ headers }) => ({ api: resumePath(conversationId), headers }),
      }),
    [conversationId],
  );

  // True while the last stream broke on the network and no resume has got through since.
  const dropped = useRef(false);
  // True once a stream ended (read to its end, stopped, or broken) since the current resume began.
  const streamed = useRef(false);
  const resume = useRef(async () => {});
  const chat = useChat<UIMessage>({
    id: conversationId,
    messages: initialMessages,
    transport,
    // Once every call waiting for approval has the user's answer, the reply continues on the server (POST /chat
    // with the answered message last).
    sendAutomaticallyWhen: lastAssistantMessageIsCompleteWithApprovalResponses,
    onFinish: ({ isDisconnect }) => {
      streamed.current = true;
      dropped.current = isDisconnect;
      // After the SDK has settled this response; offline, the `online` event below tries again.
      if (isDisconnect) setTimeout(() => void resume.current(), 0);
    },
  });
  const { resumeStream, setMessages, stop: abortFetch } = chat;

  resume.current = async () => {
    streamed.current = false;
    await resumeStream();
    if (!streamed.current || dropped.current) return;
    // The replayed turn is stored before its `finish`, with the user message a reloaded page did not have: the thread
    // becomes the stored one, so the next POST /chat sends it whole.
    const stored = await getMessages(conversationId).catch(() => null);
    if (!stored) return;
    const messages = stored.messages.map(toUIMessage);
    markHistorical(messages.map((m) => m.id));
    setMessages(messages);
  };

  useEffect(() => {
    // A turn of this conversation may be running: the page was reloaded, or the conversation opened again.
    void resume.current();
    const retry = () => {
      if (dropped.current && document.visibilityState === "visible" && navigator.onLine) void resume.current();
    };
    window.addEventListener("online", retry);
    document.addEventListener("visibilitychange", retry);
    return () => {
      window.removeEventListener("online", retry);
      document.removeEventListener("visibilitychange", retry);
    };
  }, []);

  // The server ends the turn and stores what it produced; its stream then ends with `abort` and `finish` by itself.
  // Only when the server could not be told is the fetch dropped here.
  const stop = useCallback(async () => {
    await posted.current;
    try {
      await stopTurn(conversationId);
    } catch {
      await abortFetch();
    }
  }, [conversationId, abortFetch]);

  return { ...chat, stop };
}
