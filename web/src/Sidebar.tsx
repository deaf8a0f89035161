// Conversation list (GET /conversations): new, switch, delete with an inline confirm. A column on wide
// screens, a drawer over the thread on narrow ones (Escape closes it).
import { useEffect, useRef, useState, type KeyboardEvent } from "react";
import type { ConversationSummary } from "./api";

type Props = {
  id: string;
  /** Shown as a drawer (narrow widths): focus moves in when it opens, Escape closes it. */
  drawer: boolean;
  /** null until the first listing arrives. */
  conversations: ConversationSummary[] | null;
  error: string | null;
  currentCid: string;
  onSelect: (cid: string) => void;
  onNew: () => void;
  onDelete: (cid: string) => Promise<void>;
  onClose: () => void;
};

/** The list title of a conversation: its title from the server, else "New conversation". */
export const conversationTitle = (c: ConversationSummary | null): string => c?.title || "New conversation";

function when(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  const sameDay = date.toDateString() === new Date().toDateString();
  return sameDay
    ? date.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" })
    : date.toLocaleDateString(undefined, { month: "short", day: "numeric" });
}

const focusRing = "focus-visible:outline-2 focus-visible:outline-offset-[-2px] focus-visible:outline-accent";

function Item({
  conversation,
  current,
  onSelect,
  onDelete,
}: {
  conversation: ConversationSummary;
  current: boolean;
  onSelect: () => void;
  onDelete: () => Promise<void>;
}) {
  const [confirming, setConfirming] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const cancelRef = useRef<HTMLButtonElement>(null);
  const deleteRef = useRef<HTMLButtonElement>(null);
  const cid = conversation.conversation_id;
  const title = conversationTitle(conversation);

  useEffect(() => {
    if (confirming) cancelRef.current?.focus();
  }, [confirming]);

  const cancel = () => {
    setConfirming(false);
    // Focus goes back to the delete button once it is rendered again.
    requestAnimationFrame(() => deleteRef.current?.focus());
  };

  if (confirming) {
    return (
      <li
        className="flex flex-col gap-1.5 rounded-lg bg-surface px-2 py-2 text-sm"
        data-testid="delete-confirm"
        data-cid={cid}
        onKeyDown={(e) => {
          if (e.key === "Escape") {
            e.stopPropagation();
            cancel();
          }
        }}
      >
        <span className="truncate">Delete “{title}”?</span>
        <div className="flex gap-2">
          <button
            type="button"
            data-testid="confirm-delete"
            data-cid={cid}
            disabled={deleting}
            onClick={() => {
              setDeleting(true);
              void onDelete().finally(() => setDeleting(false));
            }}
            className={`rounded-md bg-danger px-2.5 py-1 text-xs font-medium text-white disabled:opacity-50 ${focusRing}`}
          >
            {deleting ? "Deleting…" : "Delete"}
          </button>
          <button
            ref={cancelRef}
            type="button"
            data-testid="cancel-delete"
            onClick={cancel}
            className={`rounded-md border border-line px-2.5 py-1 text-xs ${focusRing}`}
          >
            Cancel
          </button>
        </div>
      </li>
    );
  }

  return (
    <li className={`group flex items-stretch rounded-lg ${current ? "bg-surface" : "hover:bg-surface"}`}>
      <button
        type="button"
        data-testid="conversation-item"
        data-cid={cid}
        aria-current={current ? "page" : undefined}
        onClick={onSelect}
        className={`flex min-w-0 flex-1 flex-col items-start rounded-lg px-2.5 py-1.5 text-left ${focusRing}`}
      >
        <span className={`w-full truncate text-sm ${current ? "font-semibold" : ""}`}>{title}</span>
        <span className="text-xs text-muted">{when(conversation.updated_at)}</span>
      </button>
      <button
        ref={deleteRef}
        type="button"
        data-testid="delete-conversation"
        data-cid={cid}
        aria-label={`Delete conversation “${title}”`}
        title="Delete"
        onClick={() => setConfirming(true)}
        className={`shrink-0 rounded-lg px-2 text-muted hover:text-danger ${focusRing}`}
      >
        <span aria-hidden>🗑</span>
      </button>
    </li>
  );
}

export function Sidebar({ id, drawer, conversations, error, currentCid, onSelect, onNew, onDelete, onClose }: Props) {
  const newRef = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (drawer) newRef.current?.focus();
  }, [drawer]);

  const onKeyDown = (e: KeyboardEvent) => {
    if (drawer && e.key === "Escape") onClose();
  };

  return (
    <nav
      id={id}
      aria-label="Conversations"
      data-testid="conversation-list"
      onKeyDown={onKeyDown}
      className={
        drawer
          ? "absolute inset-y-0 left-0 z-30 flex w-72 max-w-[85%] flex-col border-r border-line bg-bg shadow-xl"
          : "flex w-64 shrink-0 flex-col border-r border-line bg-bg"
      }
    >
      <div className="flex shrink-0 items-center gap-2 p-2">
        <button
          ref={newRef}
          type="button"
          data-testid="new-conversation"
          onClick={onNew}
          className={`flex-1 rounded-lg border border-line px-3 py-2 text-left text-sm font-medium hover:bg-surface ${focusRing}`}
        >
          + New chat
        </button>
        {drawer && (
          <button
            type="button"
            aria-label="Close conversations"
            onClick={onClose}
            className={`rounded-lg px-2 py-1 text-lg leading-none text-muted hover:bg-surface ${focusRing}`}
          >
            ✕
          </button>
        )}
      </div>
      {error && (
        <p role="alert" data-testid="conversation-list-error" className="px-3 py-1 text-xs text-danger">
          {error}
        </p>
      )}
      <ul className="flex min-h-0 flex-1 flex-col gap-0.5 overflow-y-auto px-2 pb-2">
        {conversations === null && !error && <li className="px-2 py-1 text-sm text-muted">Loading…</li>}
        {conversations?.length === 0 && <li className="px-2 py-1 text-sm text-muted">No conversations yet.</li>}
        {conversations?.map((c) => (
          <Item
            key={c.conversation_id}
            conversation={c}
            current={c.conversation_id === currentCid}
            onSelect={() => onSelect(c.conversation_id)}
            onDelete={() => onDelete(c.conversation_id)}
          />
        ))}
      </ul>
    </nav>
  );
}
