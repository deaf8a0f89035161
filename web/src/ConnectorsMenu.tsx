// Connectors menu (SPEC §2.9, §2.10): "🛠 Tools N/M" opens a popover with one checkbox per connector in scope;
// a toggle is saved for this conversation with PUT …/connectors/:id and the list is read again. Hidden without connectors.
import { useCallback, useEffect, useId, useRef, useState } from "react";
import { getConnectors, setConnectorActive, type Connector } from "./api";
import { useOpenConversation } from "./conversation";

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export function ConnectorsMenu() {
  const { cid } = useOpenConversation();
  const [connectors, setConnectors] = useState<Connector[] | null>(null);
  const [open, setOpen] = useState(false);
  const [pending, setPending] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const rootRef = useRef<HTMLDivElement>(null);
  const buttonRef = useRef<HTMLButtonElement>(null);
  const panelRef = useRef<HTMLDivElement>(null);
  const titleId = useId();
  const panelId = useId();

  const load = useCallback(async () => {
    try {
      setConnectors(await getConnectors(cid));
    } catch (err) {
      setError(`Could not read the connectors (${messageOf(err)}).`);
    }
  }, [cid]);

  useEffect(() => {
    setConnectors(null);
    setError(null);
    void load();
  }, [load]);

  useEffect(() => {
    if (!open) return;
    panelRef.current?.querySelector<HTMLInputElement>("input")?.focus();
    const onPointerDown = (e: PointerEvent) => {
      if (!rootRef.current?.contains(e.target as Node)) setOpen(false);
    };
    // On the document, not the popover: Escape must close it wherever focus is.
    const onKeyDown = (e: KeyboardEvent) => {
      if (e.key !== "Escape") return;
      setOpen(false);
      buttonRef.current?.focus();
    };
    document.addEventListener("pointerdown", onPointerDown);
    document.addEventListener("keydown", onKeyDown);
    return () => {
      document.removeEventListener("pointerdown", onPointerDown);
      document.removeEventListener("keydown", onKeyDown);
    };
  }, [open]);

  if (!connectors || connectors.length === 0) return null;

  const active = connectors.filter((c) => c.active).length;
  const toggle = async (connector: Connector, next: boolean) => {
    // One change at a time. The boxes are not disabled meanwhile: that would drop keyboard focus.
    if (pending !== null) return;
    setPending(connector.descriptive_id);
    setError(null);
    try {
      await setConnectorActive(cid, connector.descriptive_id, next);
    } catch (err) {
      setError(`${connector.name} was not changed (${messageOf(err)}).`);
    }
    await load();
    setPending(null);
  };

  return (
    // Not positioned itself: the popover anchors to the toolbar (Composer.tsx), so it fits a 360 px wide iframe.
    <div ref={rootRef}>
      <button
        ref={buttonRef}
        type="button"
        data-testid="connectors-button"
        aria-haspopup="dialog"
        aria-expanded={open}
        aria-controls={open ? panelId : undefined}
        onClick={() => setOpen((v) => !v)}
        className="whitespace-nowrap rounded-md border border-line bg-card px-2 py-1 text-sm text-fg hover:bg-surface focus-visible:outline-2 focus-visible:outline-accent"
      >
        🛠 Tools {active}/{connectors.length}
      </button>
      {open && (
        <div
          ref={panelRef}
          id={panelId}
          role="dialog"
          aria-labelledby={titleId}
          data-testid="connectors-menu"
          className="absolute bottom-full left-0 z-20 mb-2 w-72 max-w-full rounded-lg border border-line bg-card p-2 shadow-lg"
        >
          <h2 id={titleId} className="px-1 pb-1.5 text-xs font-semibold uppercase tracking-wide text-muted">
            Connectors (this conversation)
          </h2>
          <ul className="flex max-h-72 flex-col gap-0.5 overflow-y-auto">
            {connectors.map((c) => (
              <li key={c.descriptive_id}>
                <label className="flex cursor-pointer items-start gap-2 rounded-md px-1 py-1.5 hover:bg-surface">
                  <input
                    type="checkbox"
                    data-testid="connector-toggle"
                    data-id={c.descriptive_id}
                    checked={c.active}
                    aria-busy={pending === c.descriptive_id}
                    onChange={(e) => void toggle(c, e.target.checked)}
                    className="mt-0.5 h-4 w-4 shrink-0 accent-accent"
                  />
                  <span className="flex min-w-0 flex-col">
                    <span className="truncate text-sm text-fg">{c.name}</span>
                    <span className="truncate text-xs text-muted">
                      {c.type} · {c.descriptive_id}
                    </span>
                  </span>
                </label>
              </li>
            ))}
          </ul>
          {error && (
            <p role="alert" data-testid="connectors-error" className="px-1 pt-1 text-xs text-danger">
              {error}
            </p>
          )}
        </div>
      )}
    </div>
  );
}
