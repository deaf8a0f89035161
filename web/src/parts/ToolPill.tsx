// A tool call as a pill "🔧 <tool> (<connector>)" with its state; arguments and results are never shown.
import type { ToolCallMessagePartComponent, ToolCallMessagePartProps } from "@assistant-ui/react";

type ToolState = "running" | "done" | "error" | "stopped";

/** Splits `<descriptive_id>__<tool>` on the first "__" (SPEC §4.3). */
export function splitToolName(toolName: string): { tool: string; connector: string | null } {
  const at = toolName.indexOf("__");
  if (at <= 0) return { tool: toolName, connector: null };
  return { tool: toolName.slice(at + 2), connector: toolName.slice(0, at) };
}

function toolState({ isError, result, status }: ToolCallMessagePartProps): ToolState {
  if (isError) return "error";
  if (result !== undefined) return "done";
  if (status.type === "running" || status.type === "requires-action") return "running";
  if (status.type === "incomplete") return status.reason === "cancelled" ? "stopped" : "error";
  return "done";
}

const LABEL: Record<ToolState, string> = { running: "Running", done: "Done", error: "Error", stopped: "Stopped" };
const DOT: Record<ToolState, string> = {
  running: "bg-accent animate-pulse",
  done: "bg-ok",
  error: "bg-danger",
  stopped: "bg-muted",
};

export const ToolPill: ToolCallMessagePartComponent = (props) => {
  const { tool, connector } = splitToolName(props.toolName);
  const state = toolState(props);
  return (
    <div
      data-testid="tool-pill"
      data-state={state}
      className="inline-flex max-w-full items-center gap-2 self-start rounded-full border border-line bg-surface px-3 py-1 text-sm"
    >
      <span className="truncate">
        🔧 {tool}
        {connector && <span className="text-muted"> ({connector})</span>}
      </span>
      <span className="inline-flex shrink-0 items-center gap-1 text-xs text-muted">
        <span aria-hidden className={`inline-block h-2 w-2 rounded-full ${DOT[state]}`} />
        {LABEL[state]}
      </span>
    </div>
  );
};
