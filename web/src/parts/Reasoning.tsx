// A reasoning part, collapsed by default in a <details> "Reasoning".
import type { ReasoningMessagePartComponent } from "@assistant-ui/react";

export const Reasoning: ReasoningMessagePartComponent = ({ text }) => (
  <details data-testid="reasoning" className="rounded-lg border border-line bg-surface px-3 py-1.5 text-sm text-muted">
    <summary className="cursor-pointer select-none">Reasoning</summary>
    <div className="mt-1 whitespace-pre-wrap break-words">{text}</div>
  </details>
);
