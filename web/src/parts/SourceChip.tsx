// A source part as a chip: documents "📄 title · connector · score", URLs "🔗 title" as a link; the snippet is the tooltip.
import type { SourceMessagePartComponent } from "@assistant-ui/react";

type AugSourceMeta = { source_descriptive_id?: unknown; score?: unknown; snippet?: unknown };

const chip =
  "inline-flex max-w-full items-center gap-1 self-start truncate rounded-full bg-source px-3 py-1 text-xs text-source-fg";

export const SourceChip: SourceMessagePartComponent = (part) => {
  const meta = (part.providerMetadata?.augchatd ?? {}) as AugSourceMeta;
  if (part.sourceType === "url") {
    return (
      <a data-testid="source-chip" href={part.url} target="_blank" rel="noopener noreferrer" className={`${chip} underline`}>
        🔗 {part.title || part.url}
      </a>
    );
  }
  const bits = [part.title];
  if (typeof meta.source_descriptive_id === "string") bits.push(meta.source_descriptive_id);
  if (typeof meta.score === "number") bits.push(meta.score.toFixed(2));
  return (
    <span data-testid="source-chip" className={chip} title={typeof meta.snippet === "string" ? meta.snippet : undefined}>
      📄 {bits.join(" · ")}
    </span>
  );
};
