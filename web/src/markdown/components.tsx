// Element overrides for assistant markdown: tables in a scroll box, links in a new tab, fenced blocks by language.
// Module constants on purpose: the renderer memoises code blocks on these objects' identity.
import type { ComponentPropsWithoutRef, JSX } from "react";
import type { MarkdownTextPrimitiveProps } from "@assistant-ui/react-markdown";
import { CodeBlock } from "./CodeBlock";
import { MermaidBlock } from "./MermaidBlock";
import { JsonBlock } from "./JsonBlock";
import { CsvBlock } from "./CsvBlock";

type Components = NonNullable<MarkdownTextPrimitiveProps["components"]>;
type WithNode<T extends keyof JSX.IntrinsicElements> = ComponentPropsWithoutRef<T> & { node?: unknown };

function Table({ node: _node, ...props }: WithNode<"table">) {
  return (
    <div className="aug-table-wrap">
      <table data-testid="markdown-table" {...props} />
    </div>
  );
}

/** Links leave the iframe: a new tab, without an opener or referrer. */
function Link({ node: _node, ...props }: WithNode<"a">) {
  return <a {...props} target="_blank" rel="noopener noreferrer" />;
}

export const markdownComponents: Components = { table: Table, a: Link, SyntaxHighlighter: CodeBlock };

export const componentsByLanguage: NonNullable<MarkdownTextPrimitiveProps["componentsByLanguage"]> = {
  mermaid: { SyntaxHighlighter: MermaidBlock },
  json: { SyntaxHighlighter: JsonBlock },
  csv: { SyntaxHighlighter: CsvBlock },
};
