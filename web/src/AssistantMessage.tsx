// An assistant message: label + model chip, then markdown text, reasoning, tool pills, source chips, data parts and errors.
import { ErrorPrimitive, MessagePrimitive } from "@assistant-ui/react";
import { ModelChip } from "./ModelChip";
import { MarkdownText } from "./parts/MarkdownText";
import { Reasoning } from "./parts/Reasoning";
import { ToolPill } from "./parts/ToolPill";
import { SourceChip } from "./parts/SourceChip";
import { DataPart } from "./parts/DataPart";
import { Thinking } from "./parts/Thinking";

export function AssistantMessage() {
  return (
    <MessagePrimitive.Root data-testid="assistant-message" className="flex flex-col items-start gap-1">
      <div className="flex items-center gap-2 text-xs text-muted">
        <span>Assistant</span>
        <ModelChip />
      </div>
      <div className="flex w-full max-w-full flex-col gap-2 empty:hidden rounded-2xl border border-line bg-card px-3 py-2">
        <MessagePrimitive.Parts
          components={{
            Empty: Thinking,
            Text: MarkdownText,
            Reasoning,
            Source: SourceChip,
            tools: { Fallback: ToolPill },
            data: { Fallback: DataPart },
          }}
        />
        <MessagePrimitive.Error>
          <ErrorPrimitive.Root role="alert" data-testid="message-error" className="text-sm text-danger">
            <ErrorPrimitive.Message />
          </ErrorPrimitive.Root>
        </MessagePrimitive.Error>
      </div>
    </MessagePrimitive.Root>
  );
}
