// The chat page: conversation sidebar (a drawer on narrow widths) beside the open conversation's thread.
// Switching loads the stored history and mounts a fresh runtime for that conversation (keyed by cid).
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import type { UIMessage } from "ai";
import {
  createConversation,
  deleteConversation,
  getMessages,
  listConversations,
  type ConversationSummary,
} from "./api";
import { toUIMessage } from "./boot";
import { showConversationRoute } from "./route";
import { ConversationContext, type OpenConversation } from "./conversation";
import { Sidebar, conversationTitle } from "./Sidebar";
import { Chat } from "./Chat";

type Props = { conversationId: string; initialMessages: UIMessage[] };
type Open = { cid: string; messages: UIMessage[] };

const WIDE_QUERY = "(min-width: 768px)";

/** True at widths where the sidebar sits beside the thread instead of in a drawer. */
function useWide(): boolean {
  const [wide, setWide] = useState(() => matchMedia(WIDE_QUERY).matches);
  useEffect(() => {
    const query = matchMedia(WIDE_QUERY);
    const update = () => setWide(query.matches);
    query.addEventListener("change", update);
    return () => query.removeEventListener("change", update);
  }, []);
  return wide;
}

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export function Shell({ conversationId, initialMessages }: Props) {
  const [open, setOpen] = useState<Open>({ cid: conversationId, messages: initialMessages });
  const [list, setList] = useState<ConversationSummary[] | null>(null);
  const [listError, setListError] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [actionError, setActionError] = useState<string | null>(null);
  // Models chosen in this page: newer than (or equal to) the listing's override, so they win over it.
  const [chosenModels, setChosenModels] = useState<Record<string, string>>({});
  const [drawerOpen, setDrawerOpen] = useState(false);
  const wide = useWide();
  const toggleRef = useRef<HTMLButtonElement>(null);
  // Only the newest switch may land: a slow GET for an older click must not replace a newer choice.
  const switchSeq = useRef(0);

  const refresh = useCallback(async () => {
    try {
      setList(await listConversations());
      setListError(null);
    } catch (err) {
      setListError(`Could not load conversations (${messageOf(err)}).`);
    }
  }, []);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  // Escape or ✕ closes the drawer and gives focus back to ☰, once the thread is no longer inert.
  const refocusToggle = useRef(false);
  const closeDrawer = useCallback(() => {
    refocusToggle.current = true;
    setDrawerOpen(false);
  }, []);
  useEffect(() => {
    if (drawerOpen || !refocusToggle.current) return;
    refocusToggle.current = false;
    toggleRef.current?.focus();
  }, [drawerOpen]);

  const show = useCallback((next: Open) => {
    setOpen(next);
    showConversationRoute(next.cid);
    setDrawerOpen(false);
  }, []);

  const switchTo = useCallback(
    async (cid: string) => {
      setActionError(null);
      if (cid === open.cid) {
        setDrawerOpen(false);
        return;
      }
      const seq = ++switchSeq.current;
      setBusy("Loading conversation…");
      try {
        const stored = await getMessages(cid);
        if (seq !== switchSeq.current) return;
        if (stored === null) {
          setActionError("That conversation no longer exists.");
          void refresh();
          return;
        }
        show({ cid, messages: stored.messages.map(toUIMessage) });
      } catch (err) {
        if (seq === switchSeq.current) setActionError(`Could not open the conversation (${messageOf(err)}).`);
      } finally {
        if (seq === switchSeq.current) setBusy(null);
      }
    },
    [open.cid, refresh, show],
  );

  const newConversation = useCallback(async () => {
    setActionError(null);
    const seq = ++switchSeq.current;
    setBusy("Starting a new conversation…");
    try {
      const { conversation_id } = await createConversation();
      if (seq !== switchSeq.current) return;
      show({ cid: conversation_id, messages: [] });
      void refresh();
    } catch (err) {
      if (seq === switchSeq.current) setActionError(`Could not start a new conversation (${messageOf(err)}).`);
    } finally {
      if (seq === switchSeq.current) setBusy(null);
    }
  }, [refresh, show]);

  const remove = useCallback(
    async (cid: string) => {
      setActionError(null);
      try {
        await deleteConversation(cid);
      } catch (err) {
        setActionError(`Could not delete the conversation (${messageOf(err)}).`);
        return;
      }
      const remaining = (list ?? []).filter((c) => c.conversation_id !== cid);
      setList(remaining);
      if (cid === open.cid) {
        // The open conversation is gone: show the most recent other one, or a new one.
        if (remaining.length > 0) await switchTo(remaining[0].conversation_id);
        else await newConversation();
      }
      void refresh();
    },
    [list, open.cid, switchTo, newConversation, refresh],
  );

  const onModelChanged = useCallback(
    (cid: string, modelId: string) => {
      setChosenModels((m) => ({ ...m, [cid]: modelId }));
      void refresh();
    },
    [refresh],
  );

  const openSummary = list?.find((c) => c.conversation_id === open.cid) ?? null;
  const conversation: OpenConversation = useMemo(
    () => ({
      cid: open.cid,
      modelOverride: chosenModels[open.cid] ?? openSummary?.model_id_override ?? null,
      onModelChanged,
    }),
    [open.cid, chosenModels, openSummary?.model_id_override, onModelChanged],
  );

  const showSidebar = wide || drawerOpen;
  return (
    <div className="relative flex min-h-0 flex-1">
      {!wide && drawerOpen && (
        <div aria-hidden className="absolute inset-0 z-20 bg-black/40" onClick={() => setDrawerOpen(false)} />
      )}
      {showSidebar && (
        <Sidebar
          id="conversation-sidebar"
          drawer={!wide}
          conversations={list}
          error={listError}
          currentCid={open.cid}
          onSelect={(cid) => void switchTo(cid)}
          onNew={() => void newConversation()}
          onDelete={remove}
          onClose={closeDrawer}
        />
      )}
      {/* While the drawer is open the thread behind it is inert, so Tab stays in the drawer. */}
      <main className="flex min-w-0 flex-1 flex-col" inert={!wide && drawerOpen}>
        {!wide && (
          <div className="flex shrink-0 items-center gap-2 border-b border-line px-2 py-1.5">
            <button
              ref={toggleRef}
              type="button"
              data-testid="sidebar-toggle"
              aria-label="Conversations"
              aria-expanded={drawerOpen}
              aria-controls="conversation-sidebar"
              onClick={() => setDrawerOpen((v) => !v)}
              className="rounded-md px-2 py-1 text-lg leading-none hover:bg-surface focus-visible:outline-2 focus-visible:outline-accent"
            >
              ☰
            </button>
            <span className="min-w-0 flex-1 truncate text-sm font-medium" data-testid="conversation-title">
              {conversationTitle(openSummary)}
            </span>
          </div>
        )}
        {actionError && (
          <div role="alert" data-testid="action-error" className="shrink-0 border-b border-line px-3 py-1.5 text-sm text-danger">
            {actionError}
          </div>
        )}
        {busy && (
          <div role="status" data-testid="busy" className="shrink-0 border-b border-line px-3 py-1.5 text-sm text-muted">
            {busy}
          </div>
        )}
        {/* The open thread stays mounted while another loads, so a failed switch loses nothing. */}
        <ConversationContext.Provider value={conversation}>
          <Chat key={open.cid} conversationId={open.cid} initialMessages={open.messages} onTurnFinished={refresh} />
        </ConversationContext.Provider>
      </main>
    </div>
  );
}
