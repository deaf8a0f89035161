// The frame of every fenced block: a header with the language label and a Copy button, then the body.
import { useEffect, useState, type ReactNode } from "react";
import { copyText } from "./copy";

/** The label shown for a fence language; a fence without one is "text". */
export const languageLabel = (language: string): string => (language && language !== "unknown" ? language : "text");

function CopyButton({ text }: { text: string }) {
  const [state, setState] = useState<"idle" | "copied" | "failed">("idle");
  useEffect(() => {
    if (state === "idle") return;
    const timer = setTimeout(() => setState("idle"), 2000);
    return () => clearTimeout(timer);
  }, [state]);
  return (
    <button
      type="button"
      data-testid="copy-code"
      aria-label="Copy code"
      onClick={() => void copyText(text).then((ok) => setState(ok ? "copied" : "failed"))}
      className="rounded px-1.5 py-0.5 text-xs text-muted hover:bg-bg hover:text-fg focus-visible:outline-2 focus-visible:outline-accent"
    >
      <span aria-live="polite">{state === "copied" ? "Copied" : state === "failed" ? "Copy failed" : "Copy"}</span>
    </button>
  );
}

export function CodeShell({
  language,
  code,
  testId,
  children,
}: {
  language: string;
  code: string;
  testId?: string;
  children: ReactNode;
}) {
  const label = languageLabel(language);
  return (
    <div className="aug-code" data-testid="code-block" data-language={label}>
      <div className="aug-code-header">
        <span data-testid="code-language">{label}</span>
        <CopyButton text={code} />
      </div>
      <div className="aug-code-body" data-testid={testId}>
        {children}
      </div>
    </div>
  );
}
