// Custom data parts: `data-augchatd-error` (connector needs re-authorization, SPEC §5.5) as a notice; others are not shown.
import type { DataMessagePartComponent } from "@assistant-ui/react";

type AugError = { code?: unknown; connectors?: unknown };

export const DataPart: DataMessagePartComponent = ({ name, data }) => {
  if (name !== "augchatd-error") return null;
  const { code, connectors } = (data ?? {}) as AugError;
  const list = Array.isArray(connectors) ? connectors.filter((c) => typeof c === "string").join(", ") : "";
  const text =
    code === "upstream_unauthorized"
      ? `A connector rejected its credentials${list ? `: ${list}` : ""}.`
      : `Error${typeof code === "string" ? `: ${code}` : ""}.`;
  return (
    <div role="alert" data-testid="data-error" className="text-sm text-danger">
      ⚠ {text}
    </div>
  );
};
