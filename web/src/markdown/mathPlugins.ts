// Lazily loaded chunk: rehype-katex with KaTeX's stylesheet (and fonts), plus the `math` test hook.
import rehypeKatex from "rehype-katex";
import type { PluggableList } from "./types";
import "katex/dist/katex.min.css";

type Node = { type: string; tagName?: string; properties?: Record<string, unknown>; children?: Node[] };

/** Marks each rendered formula (`span.katex`, inline or inside `.katex-display`) with data-testid="math". */
function rehypeMarkMath() {
  const walk = (node: Node) => {
    const className = node.properties?.className;
    if (node.type === "element" && Array.isArray(className) && className.includes("katex")) {
      node.properties = { ...node.properties, dataTestid: "math" };
    }
    node.children?.forEach(walk);
  };
  return (tree: Node) => walk(tree);
}

// throwOnError false: a bad formula shows its source in red instead of breaking the message. KaTeX's `trust`
// stays false, so \href, \url and \htmlClass cannot emit links or attributes.
export const mathPlugins: PluggableList = [[rehypeKatex, { throwOnError: false, strict: "ignore" }], rehypeMarkMath];
