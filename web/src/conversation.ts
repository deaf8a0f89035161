// What the composer toolbar needs to know about the open conversation, provided by Shell.
import { createContext, useContext } from "react";

export type OpenConversation = {
  /** The server's conversation id (the `id` of every /chat body). */
  cid: string;
  /** The conversation's model override from GET /conversations, null for the session default. */
  modelOverride: string | null;
  /** Records a model chosen with PUT …/model until the list is read again. */
  onModelChanged: (cid: string, modelId: string) => void;
};

export const ConversationContext = createContext<OpenConversation | null>(null);

/** The open conversation; only rendered under Shell. */
export function useOpenConversation(): OpenConversation {
  const value = useContext(ConversationContext);
  if (value === null) throw new Error("useOpenConversation outside ConversationContext");
  return value;
}
