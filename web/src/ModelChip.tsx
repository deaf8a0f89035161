// The per-message model chip, read from the message's metadata.augchatd.model_id (UI-TOOLCHAIN §2); after a model
// fallback its tooltip names the model that failed.
import { useAugchatdMetadata } from "./metadata";

export function ModelChip() {
  const augchatd = useAugchatdMetadata();
  const model = augchatd?.model_id;
  if (!model) return null;
  const fallbackFrom = augchatd.fallback_from?.model_id;
  return (
    <span
      data-testid="model-chip"
      title={fallbackFrom ? `Answered by a fallback model: ${fallbackFrom} was unavailable` : undefined}
      className="rounded-full bg-chip px-2 py-0.5 text-xs text-chip-fg"
    >
      🤖 {model}
    </span>
  );
}
