// A tool call as a pill "🔧 <tool> (<connector>)" with its state, which expands to the call's Arguments and
// Result as the model saw them (SPEC §4.3: never a credential, which stays on the server). A call of a
// `require_approval` tool waits with Approve / Deny buttons; the answer goes back through the AI SDK's tool
// approval (Chat.tsx resubmits once every waiting call of the reply has one).
import { useAuiState, type ToolCallMessagePartComponent, type ToolCallMessagePartProps } from "@assistant-ui/react";
import { useEffect, useRef, useState, type PropsWithChildren } from "react";

type ToolState = "approval" | "running" | "done" | "denied" | "error" | "stopped";

/** Splits `<descriptive_id>__<tool>` on the first "__" (SPEC §4.3). */
export function splitToolName(toolName: string): { tool: string; connector: string | null } {
  const at = toolName.indexOf("__");
  if (at <= 0) return { tool: toolName, connector: null };
  return { tool: toolName.slice(at + 2), connector: toolName.slice(0, at) };
}

type Call = Pick<ToolCallMessagePartProps, "approval" | "result">;

/** The call waits for the user's Approve or Deny. */
const awaitsApproval = ({ approval, result }: Call) => approval !== undefined && approval.approved === undefined && result === undefined;

function toolState(props: ToolCallMessagePartProps): ToolState {
  const { approval, isError, result, status } = props;
  if (approval?.approved === false) return "denied";
  if (awaitsApproval(props)) return "approval";
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

/** A value as the pill shows it: text as it is, anything else as indented JSON. */
function shown(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value, null, 2);
}

function Detail({ label, value }: { label: string; value: string }) {
  return (
    <div className="mt-1">
      <div className="text-xs font-medium text-muted">{label}</div>
      <pre className="max-h-60 overflow-auto whitespace-pre-wrap break-words rounded-md bg-card px-2 py-1 text-xs">{value}</pre>
    </div>
  );
}

export const ToolPill: ToolCallMessagePartComponent = (props) => {
  const { tool, connector } = splitToolName(props.toolName);
  const state = toolState(props);
  // Arguments that were not valid JSON arrive as their raw text only.
  const args = Object.keys(props.args ?? {}).length > 0 ? shown(props.args) : props.argsText;
  return (
    <div
      data-testid="tool-pill"
      data-state={state}
      className="inline-flex max-w-full flex-wrap items-start gap-2 self-start rounded-2xl border border-line bg-surface px-3 py-1 text-sm"
    >
      <details data-testid="tool-details" className="min-w-0 max-w-full">
        <summary className="cursor-pointer list-none select-none">
          <span className="truncate">
            🔧 {tool}
            {connector && <span className="text-muted"> ({connector})</span>}
          </span>
          <span className="ml-2 inline-flex shrink-0 items-center gap-1 text-xs text-muted">
            <span aria-hidden className={`inline-block h-2 w-2 rounded-full ${DOT[state]}`} />
            {LABEL[state]}
          </span>
        </summary>
        <Detail label="Arguments" value={args} />
        {props.result !== undefined && <Detail label="Result" value={shown(props.result)} />}
      </details>
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

/** Consecutive tool calls as one line "🔧 N tool calls · tap to expand". It opens by itself while one of them
 * runs or waits for the user's approval (so the running calls and the Approve button show), and folds again
 * when they are done unless the user opened or closed it meanwhile; a click always wins. */
export function ToolGroup({ startIndex, endIndex, children }: PropsWithChildren<{ startIndex: number; endIndex: number }>) {
  const pending = useAuiState((s) => {
    const running = s.message.status?.type === "running";
    return s.message.content
      .slice(startIndex, endIndex + 1)
      .some((part) => part.type === "tool-call" && ((running && part.result === undefined) || awaitsApproval(part)));
  });
  const [open, setOpen] = useState(pending);
  // Whether the group is open because a call was pending, not because the user opened it.
  const byItself = useRef(pending);
  useEffect(() => {
    if (pending) {
      setOpen(true);
      byItself.current = true;
    } else if (byItself.current) {
      setOpen(false);
      byItself.current = false;
    }
  }, [pending]);
  if (endIndex <= startIndex) return <>{children}</>;
  return (
    <details
      data-testid="tool-group"
      open={open}
      onToggle={(e) => {
        // Also fired when `open` is set from state; only a change the user made differs from it.
        if (e.currentTarget.open !== open) {
          byItself.current = false;
          setOpen(e.currentTarget.open);
        }
      }}
      className="self-start text-sm"
    >
      <summary className="cursor-pointer select-none text-muted">
        🔧 {endIndex - startIndex + 1} tool calls · tap to expand
      </summary>
      <div className="mt-1 flex flex-col gap-1">{children}</div>
    </details>
  );
}
