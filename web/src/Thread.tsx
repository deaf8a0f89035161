// Thread view: scrolling message list with the empty state, then the composer (or the read-only banner).
import { ThreadPrimitive, useAuiState } from "@assistant-ui/react";
import { AssistantMessage } from "./AssistantMessage";
import { UserMessage } from "./UserMessage";
import { Composer } from "./Composer";
import { ReadOnlyBanner } from "./Banner";
import { useReadOnly } from "./readOnly";

export function Thread() {
  const readOnly = useReadOnly();
  // Tests wait on data-running="false" between turns (UI-TOOLCHAIN P10).
  const running = useAuiState((s) => s.thread.isRunning);
  return (
    <ThreadPrimitive.Root data-testid="thread" data-running={String(running)} className="flex min-h-0 flex-1 flex-col">
      <ThreadPrimitive.Viewport className="flex min-h-0 flex-1 flex-col overflow-y-auto">
        <div className="mx-auto flex w-full max-w-3xl flex-1 flex-col gap-4 px-3 py-4 sm:px-4">
          <ThreadPrimitive.Empty>
            <div className="flex flex-1 items-center justify-center py-16 text-muted" data-testid="empty">
              Try a question.
            </div>
          </ThreadPrimitive.Empty>
          <ThreadPrimitive.Messages>
            {({ message }) => (message.role === "user" ? <UserMessage /> : <AssistantMessage />)}
          </ThreadPrimitive.Messages>
        </div>
      </ThreadPrimitive.Viewport>
      <div className="shrink-0 border-t border-line bg-bg">
        <div className="mx-auto w-full max-w-3xl px-3 py-3 sm:px-4">{readOnly ? <ReadOnlyBanner /> : <Composer />}</div>
      </div>
    </ThreadPrimitive.Root>
  );
}
