// An assistant message: label + model chip (+ token usage on hover), then markdown text, reasoning, tool pills, source chips, data parts and
// errors; below it Copy, Regenerate (not while read-only) and, after a regenerate, the branch picker (← n/m →).
import { ActionBarPrimitive, BranchPickerPrimitive, ErrorPrimitive, MessagePrimitive } from "@assistant-ui/react";
import { ModelChip } from "./ModelChip";
import { UsageBadge } from "./UsageBadge";
import { MarkdownText } from "./parts/MarkdownText";
import { Reasoning } from "./parts/Reasoning";
import { ToolGroup, ToolPill } from "./parts/ToolPill";
import { SourceChip } from "./parts/SourceChip";
import { DataPart } from "./parts/DataPart";
import { Thinking } from "./parts/Thinking";
import { useReadOnly } from "./readOnly";

const action =
  "group rounded-md px-2 py-1 text-xs text-muted hover:bg-surface hover:text-fg focus-visible:outline-2 focus-visible:outline-accent disabled:opacity-40";

function MessageActions() {
  const readOnly = useReadOnly();
  return (
    <div className="flex items-center gap-1">
      <BranchPickerPrimitive.Root hideWhenSingleBranch data-testid="branch-picker" className="flex items-center gap-0.5 text-xs text-muted">
        <BranchPickerPrimitive.Previous aria-label="Previous answer" className={action}>
          ←
        </BranchPickerPrimitive.Previous>
        <span>
          <BranchPickerPrimitive.Number />/<BranchPickerPrimitive.Count />
        </span>
        <BranchPickerPrimitive.Next aria-label="Next answer" className={action}>
          →
        </BranchPickerPrimitive.Next>
      </BranchPickerPrimitive.Root>
      <ActionBarPrimitive.Root hideWhenRunning className="flex items-center gap-1">
        <ActionBarPrimitive.Copy data-testid="copy-message" className={`${action} disabled:hidden`}>
          <span className="group-data-[copied=true]:hidden">Copy</span>
          <span className="hidden group-data-[copied=true]:inline">Copied</span>
        </ActionBarPrimitive.Copy>
        {!readOnly && (
          <ActionBarPrimitive.Reload data-testid="regenerate" className={action}>
            Regenerate
          </ActionBarPrimitive.Reload>
        )}
      </ActionBarPrimitive.Root>
    </div>
  );
}

export function AssistantMessage() {
  return (
    <MessagePrimitive.Root data-testid="assistant-message" className="group/message flex flex-col items-start gap-1">
      <div className="flex items-center gap-2 text-xs text-muted">
        <span>Assistant</span>
        <ModelChip />
        <UsageBadge />
      </div>
      <div className="flex w-full max-w-full min-w-0 flex-col gap-2 empty:hidden rounded-2xl border border-line bg-card px-3 py-2">
        <MessagePrimitive.Parts
          components={{
            Empty: Thinking,
            Text: MarkdownText,
            Reasoning,
            Source: SourceChip,
            tools: { Fallback: ToolPill },
            ToolGroup,
            data: { Fallback: DataPart },
          }}
        />
        <MessagePrimitive.Error>
          <ErrorPrimitive.Root role="alert" data-testid="message-error" className="text-sm text-danger">
            <ErrorPrimitive.Message />
          </ErrorPrimitive.Root>
        </MessagePrimitive.Error>
      </div>
      <MessageActions />
    </MessagePrimitive.Root>
  );
}
