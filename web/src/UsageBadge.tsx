// The turn's token counts beside the model chip (metadata.augchatd.usage), shown while the pointer rests on the
// assistant message or focus is inside it; hidden otherwise, so the thread stays quiet.
import { useAugchatdMetadata, type Usage } from "./metadata";

const count = (n: number) => n.toLocaleString("en-US");

/** "1,234 in (1,024 cached) · 56 out", plus cache writes and reasoning when there are any. */
function usageText(usage: Usage): string {
  const cached = usage.cache_read_tokens > 0 ? ` (${count(usage.cache_read_tokens)} cached)` : "";
  const written = usage.cache_write_tokens > 0 ? ` · ${count(usage.cache_write_tokens)} written to cache` : "";
  const reasoning = usage.reasoning_tokens > 0 ? ` (${count(usage.reasoning_tokens)} reasoning)` : "";
  return `${count(usage.input_tokens)} in${cached}${written} · ${count(usage.output_tokens)} out${reasoning} tokens`;
}

export function UsageBadge() {
  const usage = useAugchatdMetadata()?.usage;
  if (!usage) return null;
  return (
    <span
      data-testid="message-usage"
      className="invisible text-xs text-muted group-hover/message:visible group-focus-within/message:visible"
    >
      {usageText(usage)}
    </span>
  );
}
