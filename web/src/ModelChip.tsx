// The per-message model chip, read from the original AI SDK message's metadata.augchatd.model_id (UI-TOOLCHAIN §2).
import { getExternalStoreMessages, useAuiState } from "@assistant-ui/react";
import type { UIMessage } from "ai";

type AugMetadata = { augchatd?: { model_id?: string } };

export function ModelChip() {
  // metadata.custom is empty for streamed messages in this version, so read the source UIMessage instead.
  const model = useAuiState(
    (s) => getExternalStoreMessages<UIMessage<AugMetadata>>(s.message)[0]?.metadata?.augchatd?.model_id,
  );
  if (!model) return null;
  return (
    <span data-testid="model-chip" className="rounded-full bg-chip px-2 py-0.5 text-xs text-chip-fg">
      🤖 {model}
    </span>
  );
}
