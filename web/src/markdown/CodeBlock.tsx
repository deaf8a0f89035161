// A fenced code block: language label, Copy, and highlight.js colouring once the lazy grammar chunk has loaded.
// Highlighting yields a hast tree rendered as React elements, so no HTML string is ever injected.
import { Fragment, useEffect, useMemo, useState } from "react";
import { jsx, jsxs } from "react/jsx-runtime";
import { toJsxRuntime } from "hast-util-to-jsx-runtime";
import type { SyntaxHighlighterProps } from "@assistant-ui/react-markdown";
import { CodeShell } from "./CodeShell";

type Lowlight = typeof import("./highlight").lowlight;

let lowlight: Lowlight | null = null;
let loading: Promise<Lowlight> | null = null;
const loadLowlight = (): Promise<Lowlight> =>
  (loading ??= import("./highlight").then((m) => (lowlight = m.lowlight)));

function useLowlight(): Lowlight | null {
  const [ready, setReady] = useState(lowlight);
  useEffect(() => {
    if (ready) return;
    let live = true;
    loadLowlight().then(
      (l) => live && setReady(l),
      () => undefined, // without the chunk the code stays plain, which is still readable
    );
    return () => {
      live = false;
    };
  }, [ready]);
  return ready;
}

export function CodeBlock({ language, code }: SyntaxHighlighterProps) {
  const highlighter = useLowlight();
  const body = useMemo(() => {
    if (!highlighter || !language || !highlighter.registered(language)) return code;
    try {
      return toJsxRuntime(highlighter.highlight(language, code), { Fragment, jsx, jsxs });
    } catch {
      return code;
    }
  }, [highlighter, language, code]);
  return (
    <CodeShell language={language} code={code}>
      <pre>
        <code className={`hljs language-${language}`}>{body}</code>
      </pre>
    </CodeShell>
  );
}
