// Plugin list type of the markdown renderer, taken from its props (unified is not a direct dependency).
import type { MarkdownTextPrimitiveProps } from "@assistant-ui/react-markdown";

export type PluggableList = NonNullable<MarkdownTextPrimitiveProps["rehypePlugins"]>;
