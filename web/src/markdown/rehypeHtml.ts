// No raw HTML is ever rendered: react-markdown runs with `skipHtml`, which drops every raw HTML node (a <script>
// in a reply is simply gone). The one exception, made here as an element and never as HTML, is <br>, which models
// put in table cells for line breaks.

type Node = { type: string; value?: string; children?: Node[]; tagName?: string; properties?: Record<string, unknown> };

const BR = /^<br\s*\/?>$/i;

function walk(node: Node): void {
  if (!node.children) return;
  node.children = node.children.map((child) =>
    child.type === "raw" && BR.test((child.value ?? "").trim())
      ? { type: "element", tagName: "br", properties: {}, children: [] }
      : child,
  );
  node.children.forEach(walk);
}

/** rehype plugin: `<br>` raw nodes become `br` elements; all other raw HTML is left for skipHtml to drop. */
export function rehypeBreaks() {
  return (tree: Node) => walk(tree);
}
