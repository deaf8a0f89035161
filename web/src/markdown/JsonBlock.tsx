// ```json → a collapsible tree (<details>, so it works with the keyboard), open to depth 2. Until the text parses
// (while streaming, or when it is not JSON) it shows as a plain code block.
import { useMemo, type ReactNode } from "react";
import type { SyntaxHighlighterProps } from "@assistant-ui/react-markdown";
import { CodeShell } from "./CodeShell";

/** Levels shown expanded: the root and its children. */
const OPEN_DEPTH = 2;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function Key({ name }: { name: string | null }) {
  return name === null ? null : <span className="aug-json-key">{name}: </span>;
}

function Leaf({ value }: { value: Json }) {
  const kind = value === null ? "null" : typeof value;
  return <span className={`aug-json-${kind}`}>{JSON.stringify(value)}</span>;
}

function JsonNode({ name, value, depth }: { name: string | null; value: Json; depth: number }): ReactNode {
  if (value === null || typeof value !== "object") {
    return (
      <div className="aug-json-row">
        <Key name={name} />
        <Leaf value={value} />
      </div>
    );
  }
  const entries: Array<[string, Json]> = Array.isArray(value)
    ? value.map((v, i) => [String(i), v])
    : Object.entries(value);
  const summary = Array.isArray(value) ? `[${entries.length}]` : `{${entries.length}}`;
  if (entries.length === 0) {
    return (
      <div className="aug-json-row">
        <Key name={name} />
        <span className="aug-json-meta">{Array.isArray(value) ? "[]" : "{}"}</span>
      </div>
    );
  }
  return (
    <details open={depth < OPEN_DEPTH} className="aug-json-branch">
      <summary>
        <Key name={name} />
        <span className="aug-json-meta">{summary}</span>
      </summary>
      <div className="aug-json-children">
        {entries.map(([key, child]) => (
          <JsonNode key={key} name={key} value={child} depth={depth + 1} />
        ))}
      </div>
    </details>
  );
}

export function JsonBlock({ language, code }: SyntaxHighlighterProps) {
  const parsed = useMemo((): { value: Json } | null => {
    try {
      return { value: JSON.parse(code) as Json };
    } catch {
      return null;
    }
  }, [code]);
  return (
    <CodeShell language={language} code={code} testId={parsed ? "json-tree" : undefined}>
      {parsed ? (
        <div className="aug-json">
          <JsonNode name={null} value={parsed.value} depth={0} />
        </div>
      ) : (
        <pre>
          <code>{code}</code>
        </pre>
      )}
    </CodeShell>
  );
}
