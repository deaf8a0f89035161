// Assistant text part rendered as markdown (styled by .aug-md in index.css).
import { MarkdownTextPrimitive } from "@assistant-ui/react-markdown";

export function MarkdownText() {
  return <MarkdownTextPrimitive className="aug-md" />;
}
