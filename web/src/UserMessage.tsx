// A user message: "You" label and the text verbatim (pre-wrap, no markdown).
import { MessagePrimitive } from "@assistant-ui/react";

export function UserMessage() {
  return (
    <MessagePrimitive.Root data-testid="user-message" className="flex flex-col items-end gap-1">
      <span className="text-xs text-muted">You</span>
      <div className="max-w-[85%] rounded-2xl bg-accent px-3 py-2 text-accent-fg">
        <MessagePrimitive.Parts
          components={{ Text: ({ text }) => <p className="whitespace-pre-wrap break-words">{text}</p> }}
        />
      </div>
    </MessagePrimitive.Root>
  );
}
