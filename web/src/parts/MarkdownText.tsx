// Assistant text part rendered as markdown (styled by .aug-md in index.css): GFM, math (KaTeX loaded on demand),
// fenced blocks with label, Copy and highlighting, ```mermaid / ```json / ```csv renderers. Raw HTML is never rendered.
import { useMessagePartText } from "@assistant-ui/react";
import { MarkdownTextPrimitive } from "@assistant-ui/react-markdown";
import remarkGfm from "remark-gfm";
import remarkMath from "remark-math";
import { componentsByLanguage, markdownComponents } from "../markdown/components";
import { useRehypePlugins } from "../markdown/math";
import { mayHoldMath, preprocessMarkdown } from "../markdown/preprocess";

const remarkPlugins = [remarkGfm, remarkMath];

export function MarkdownText() {
  const { text } = useMessagePartText();
  const rehypePlugins = useRehypePlugins(mayHoldMath(text));
  return (
    <MarkdownTextPrimitive
      className="aug-md"
      remarkPlugins={remarkPlugins}
      rehypePlugins={rehypePlugins}
      skipHtml
      preprocess={preprocessMarkdown}
      components={markdownComponents}
      componentsByLanguage={componentsByLanguage}
    />
  );
}
