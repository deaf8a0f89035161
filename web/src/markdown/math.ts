// Math plugins, loaded on demand: the first text that may hold `$…$` pulls in rehype-katex, KaTeX and its CSS
// (mathPlugins.ts, a separate chunk); until then remark-math's output shows as code.
import { useEffect, useSyncExternalStore } from "react";
import type { PluggableList } from "./types";
import { rehypeBreaks } from "./rehypeHtml";

const BASE: PluggableList = [rehypeBreaks];
let withMath: PluggableList | null = null;
let loading: Promise<void> | null = null;
const listeners = new Set<() => void>();

function loadMath(): void {
  loading ??= import("./mathPlugins").then(
    (m) => {
      withMath = [rehypeBreaks, ...m.mathPlugins];
      listeners.forEach((l) => l());
    },
    () => {
      loading = null; // try again with the next message that needs it
    },
  );
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** The rehype plugins for a text: KaTeX included once loaded; `needsMath` starts the load. */
export function useRehypePlugins(needsMath: boolean): PluggableList {
  const loaded = useSyncExternalStore(subscribe, () => withMath);
  useEffect(() => {
    if (needsMath) loadMath();
  }, [needsMath]);
  return loaded ?? BASE;
}
