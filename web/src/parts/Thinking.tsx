// Three pulsing dots while the assistant message is still empty and running.
import type { EmptyMessagePartComponent } from "@assistant-ui/react";

export const Thinking: EmptyMessagePartComponent = ({ status }) => {
  if (status.type !== "running") return null;
  return (
    <span data-testid="thinking" aria-label="Thinking" className="inline-flex gap-1 py-2">
      {[0, 150, 300].map((delay) => (
        <span key={delay} className="h-1.5 w-1.5 animate-pulse rounded-full bg-muted" style={{ animationDelay: `${delay}ms` }} />
      ))}
    </span>
  );
};
