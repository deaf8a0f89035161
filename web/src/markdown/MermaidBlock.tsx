// ```mermaid → a diagram. Mermaid (a large set of chunks) is imported on first use, with securityLevel "strict"
// (its output is sanitised by DOMPurify and click handlers are off) and the theme of the page. While the reply
// still streams, or when the source does not parse, the source is shown instead.
import { useEffect, useState } from "react";
import { useMessagePartText } from "@assistant-ui/react";
import type { SyntaxHighlighterProps } from "@assistant-ui/react-markdown";
import { CodeShell } from "./CodeShell";

type Mermaid = typeof import("mermaid").default;

let loading: Promise<Mermaid> | null = null;
/** Imports and initialises mermaid once; the theme is fixed at boot (SPEC §8.1: no runtime theme switch). */
const loadMermaid = (): Promise<Mermaid> =>
  (loading ??= import("mermaid").then(({ default: mermaid }) => {
    const dark = document.documentElement.getAttribute("data-theme") === "dark";
    mermaid.initialize({ startOnLoad: false, securityLevel: "strict", theme: dark ? "dark" : "default" });
    return mermaid;
  }));

let renders = 0;
/** Waits this long after the last change before rendering, so a streaming block is not re-rendered per token. */
const SETTLE_MS = 200;

type Result = { code: string; svg: string } | { code: string; error: string };

export function MermaidBlock({ language, code }: SyntaxHighlighterProps) {
  const streaming = useMessagePartText().status.type === "running";
  const [result, setResult] = useState<Result | null>(null);

  useEffect(() => {
    if (streaming) return;
    let live = true;
    const timer = setTimeout(() => {
      loadMermaid()
        .then(async (mermaid) => {
          if (!(await mermaid.parse(code, { suppressErrors: true }))) {
            if (live) setResult({ code, error: "This diagram could not be read." });
            return;
          }
          const { svg } = await mermaid.render(`aug-mermaid-${++renders}`, code);
          if (live) setResult({ code, svg });
        })
        .catch(() => live && setResult({ code, error: "This diagram could not be drawn." }));
    }, SETTLE_MS);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [code, streaming]);

  const current = result?.code === code ? result : null;
  return (
    <CodeShell language={language} code={code} testId="mermaid">
      {current && "svg" in current ? (
        // Mermaid's strict mode returns DOMPurify-sanitised SVG; it is the only markup injected in the UI.
        <div
          className="aug-mermaid"
          data-testid="mermaid-diagram"
          role="img"
          aria-label="Diagram"
          dangerouslySetInnerHTML={{ __html: current.svg }}
        />
      ) : (
        <>
          {current && "error" in current && (
            <p role="note" className="aug-block-note">
              {current.error}
            </p>
          )}
          <pre>
            <code>{code}</code>
          </pre>
        </>
      )}
    </CodeShell>
  );
}
