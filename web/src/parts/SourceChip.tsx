// A source part as a chip: documents "📄 title · connector · score", expanding to connector, index, document id,
// score and snippet; URLs "🔗 title" as a link.
import type { SourceMessagePartComponent } from "@assistant-ui/react";

type AugSourceMeta = { source_descriptive_id?: unknown; index?: unknown; doc_id?: unknown; score?: unknown; snippet?: unknown };

const chip = "inline-flex max-w-full items-center gap-1 self-start rounded-full bg-source px-3 py-1 text-xs text-source-fg";

const text = (value: unknown) => (typeof value === "string" ? value : undefined);
const score = (value: unknown) => (typeof value === "number" ? value.toFixed(2) : undefined);

export const SourceChip: SourceMessagePartComponent = (part) => {
  const meta = (part.providerMetadata?.augchatd ?? {}) as AugSourceMeta;
  if (part.sourceType === "url") {
    return (
      <a data-testid="source-chip" href={part.url} target="_blank" rel="noopener noreferrer" className={`${chip} truncate underline`}>
        🔗 {part.title || part.url}
      </a>
    );
  }
  const connector = text(meta.source_descriptive_id);
  const scored = score(meta.score);
  const details: [string, string | undefined][] = [
    ["Connector", connector],
    ["Index", text(meta.index)],
    ["Document", text(meta.doc_id)],
    ["Score", scored],
  ];
  const snippet = text(meta.snippet);
  return (
    <details data-testid="source-chip" className="max-w-full self-start text-xs">
      <summary className={`${chip} cursor-pointer list-none select-none`}>
        <span className="truncate">📄 {[part.title, connector, scored].filter(Boolean).join(" · ")}</span>
      </summary>
      <dl className="mt-1 grid grid-cols-[auto_1fr] gap-x-2 rounded-lg border border-line bg-surface px-3 py-1.5">
        {details
          .filter(([, value]) => value !== undefined)
          .map(([label, value]) => (
            <div key={label} className="contents">
              <dt className="text-muted">{label}</dt>
              <dd className="break-words">{value}</dd>
            </div>
          ))}
        {snippet && <dd className="col-span-2 mt-1 whitespace-pre-wrap break-words">{snippet}</dd>}
      </dl>
    </details>
  );
};
