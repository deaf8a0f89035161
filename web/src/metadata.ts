// augchatd's part of an assistant message's metadata (`metadata.augchatd`, README "Usage and prompt caching"):
// the model that answered, the turn's token usage and, after a model fallback, the model it stood in for.
import { getExternalStoreMessages, useAuiState } from "@assistant-ui/react";
import type { UIMessage } from "ai";

export type Usage = {
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_write_tokens: number;
  reasoning_tokens: number;
};

export type AugchatdMetadata = {
  model_id?: string;
  provider?: string;
  usage?: Usage;
  fallback_from?: { model_id?: string; provider?: string };
};

/** The current message's `metadata.augchatd`, read from the source AI SDK message: assistant-ui's
 * `metadata.custom` is empty for streamed messages in this version (UI-TOOLCHAIN §2). */
export function useAugchatdMetadata(): AugchatdMetadata | undefined {
  return useAuiState(
    (s) => getExternalStoreMessages<UIMessage<{ augchatd?: AugchatdMetadata }>>(s.message)[0]?.metadata?.augchatd,
  );
}
