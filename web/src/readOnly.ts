// Read-only mode (SPEC §8.3, decision 29): set by any 503 flush-stalled answer, cleared by a periodic probe that writes nothing.
import { useSyncExternalStore } from "react";
import { authHeaders, retryOn401 } from "./handshake";

/** How often the daemon is asked whether it is writable again. */
export const PROBE_INTERVAL_MS = 5_000;

let readOnly = false;
let timer: ReturnType<typeof setTimeout> | null = null;
const listeners = new Set<() => void>();

function emit(): void {
  listeners.forEach((listener) => listener());
}

/** A 503 whose X-Augchatd-Reason is flush-stalled means writes are refused for now (SPEC §2.4, §6.5). */
export const isFlushStalled = (res: Response): boolean =>
  res.status === 503 && res.headers.get("X-Augchatd-Reason") === "flush-stalled";

/**
 * Asks whether the daemon accepts writes again, without writing anything.
 *
 * `POST /chat` checks read-only before it reads the body (SPEC §2.4 step 2; `src/http/chat.rs` calls
 * `writable()` first), so the body `{}` answers 503 flush-stalled while the user's flushes are stalled,
 * and 400 `missing_messages` once they are not: the request never reaches the conversation store.
 * (`POST /conversations` cannot serve as the probe: it validates the body before the read-only check,
 * and with a valid body it creates a conversation.)
 */
export async function probeWritable(): Promise<boolean> {
  const res = await retryOn401("/chat", {
    method: "POST",
    headers: { ...(await authHeaders()), "Content-Type": "application/json" },
    body: "{}",
  });
  return res.status === 400;
}

function scheduleProbe(): void {
  if (timer !== null) return;
  timer = setTimeout(() => {
    void probeWritable()
      .catch(() => false)
      .then((writable) => {
        timer = null;
        if (writable) {
          readOnly = false;
          emit();
        } else if (readOnly) {
          scheduleProbe();
        }
      });
  }, PROBE_INTERVAL_MS);
}

/** Called with every failed response: a flush-stalled 503 turns read-only mode on and starts probing. */
export function noteFailure(res: Response): void {
  if (!isFlushStalled(res)) return;
  if (!readOnly) {
    readOnly = true;
    emit();
  }
  scheduleProbe();
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** True while the daemon refuses writes; the composer is replaced by the read-only banner meanwhile. */
export const useReadOnly = (): boolean => useSyncExternalStore(subscribe, () => readOnly);
