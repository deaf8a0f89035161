// A tool call as a pill "🔧 <tool> (<connector>)" with its state; arguments and results are never shown. A call
// of a `require_approval` tool waits with Approve / Deny buttons; the answer goes back through the AI SDK's tool
// approval (Chat.tsx resubmits once every waiting call of the reply has one).
import type { ToolCallMessagePartComponent, ToolCallMessagePartProps } from "@assistant-ui/react";

type ToolState = "approval" | "running" | "done" | "denied" | "error" | "stopped";

/** Splits `<descriptive_id>__<tool>` on the first "__" (SPEC §4.3). */
export function splitToolName(toolName: string): { tool: string; connector: string | null } {
  const at = toolName.indexOf("__");
  if (at <= 0) return { tool: toolName, connector: null };
  return { tool: toolName.slice(at + 2), connector: toolName.slice(0, at) };
}

function toolState({ approval, isError, result, status }: ToolCallMessagePartProps): ToolState {
  if (approval?.approved === false) return "denied";
  if (approval && approval.approved === undefined && result === undefined) return "approval";
  if (isError) return "error";
  if (result !== undefined) return "done";
  if (status.type === "running" || status.type === "requires-action") return "running";
  if (status.type === "incomplete") return status.reason === "cancelled" ? "stopped" : "error";
  return "done";
}

const LABEL: Record<ToolState, string> = {
  approval: "Needs your approval",
  running: "Running",
  done: "Done",
  denied: "Denied",
  error: "Error",
  stopped: "Stopped",
};
const DOT: Record<ToolState, string> = {
  approval: "bg-accent",
  running: "bg-accent animate-pulse",
  done: "bg-ok",
  denied: "bg-muted",
  error: "bg-danger",
  stopped: "bg-muted",
};

const ANSWERS = [
  { label: "Approve", approved: true, testid: "tool-approve" },
  { label: "Deny", approved: false, testid: "tool-deny" },
];

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
      {state === "approval" && (
        <span className="inline-flex shrink-0 gap-1">
          {ANSWERS.map(({ label, approved, testid }) => (
            <button
              key={testid}
              type="button"
              data-testid={testid}
              className="rounded-full border border-line px-2 py-0.5 text-xs hover:bg-line/40"
              onClick={() => props.respondToApproval({ approved })}
            >
              {label}
            </button>
          ))}
        </span>
      )}
    </div>
  );
};
