// Model picker (SPEC §2.11, §2.12): the session's models from GET /session/models; a choice is saved for this
// conversation with PUT …/model. Shows the conversation's override, else the session default.
import { useEffect, useState } from "react";
import { getSessionModels, setConversationModel, type SessionModels } from "./api";
import { useOpenConversation } from "./conversation";

// One listing per page load: the daemon caches it for 10 minutes anyway, and it does not depend on the conversation.
let listing: Promise<SessionModels> | null = null;
const loadModels = (): Promise<SessionModels> =>
  (listing ??= getSessionModels().catch((err: unknown) => {
    listing = null;
    throw err;
  }));

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export function ModelPicker() {
  const { cid, modelOverride, onModelChanged } = useOpenConversation();
  const [models, setModels] = useState<SessionModels | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [saving, setSaving] = useState<string | null>(null);
  const [saveError, setSaveError] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    loadModels().then(
      (m) => live && setModels(m),
      (err: unknown) => live && setLoadError(`Models unavailable (${messageOf(err)}).`),
    );
    return () => {
      live = false;
    };
  }, []);

  useEffect(() => setSaveError(null), [cid]);

  const current = saving ?? modelOverride ?? models?.current_model_id ?? "";
  const options = models?.models.map((m) => ({ id: m.id, label: m.display_name || m.id })) ?? [];
  // The override or default may be missing from the provider's list; it is still what the next turn uses.
  if (current && !options.some((o) => o.id === current)) options.unshift({ id: current, label: current });

  const choose = async (modelId: string) => {
    // One change at a time; the select stays enabled so keyboard focus is not lost meanwhile.
    if (modelId === current || saving !== null) return;
    setSaving(modelId);
    setSaveError(null);
    try {
      await setConversationModel(cid, modelId);
      onModelChanged(cid, modelId);
    } catch (err) {
      setSaveError(`Model not changed (${messageOf(err)}).`);
    } finally {
      setSaving(null);
    }
  };

  return (
    <div className="flex min-w-0 items-center gap-1.5">
      <label className="flex min-w-0 items-center gap-1 text-sm text-muted" title={loadError ?? "Model for this conversation"}>
        <span aria-hidden>⚡</span>
        <select
          data-testid="model-picker"
          aria-label="Model"
          value={current}
          disabled={models === null}
          aria-busy={saving !== null}
          onChange={(e) => void choose(e.target.value)}
          className="min-w-0 max-w-[11rem] truncate rounded-md border border-line bg-card px-1.5 py-1 text-sm text-fg focus:border-accent focus:outline-none disabled:opacity-60 sm:max-w-[16rem]"
        >
          {options.length === 0 && <option value="">{loadError ? "Default model" : "Loading…"}</option>}
          {options.map((o) => (
            <option key={o.id} value={o.id}>
              {o.label}
            </option>
          ))}
        </select>
      </label>
      {saveError && (
        <span role="alert" data-testid="model-error" className="text-xs text-danger">
          {saveError}
        </span>
      )}
    </div>
  );
}
