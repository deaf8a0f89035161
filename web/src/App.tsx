// Root component: runs the boot (SPEC §8.2), then shows the top-level notice, a boot error, or the chat page, under the demo banner.
import { useEffect, useState } from "react";
import { boot, type BootResult } from "./boot";
import { DemoBanner, Notice } from "./Banner";
import { Shell } from "./Shell";

const TOP_LEVEL_TEXT = {
  demo: "augchatd: this UI runs inside an iframe — open /demo/ instead of /.",
  prod: "augchatd: this UI must be embedded by an integrator page (postMessage handshake required).",
} as const;

function Body({ state }: { state: BootResult | null }) {
  if (state === null) return <Notice>Loading…</Notice>;
  switch (state.kind) {
    case "top-level":
      return <Notice tone="error">{TOP_LEVEL_TEXT[state.mode]}</Notice>;
    case "error":
      return <Notice tone="error">augchatd: {state.message}</Notice>;
    case "ready":
      return <Shell conversationId={state.conversationId} initialMessages={state.initialMessages} />;
  }
}

export function App() {
  const [state, setState] = useState<BootResult | null>(null);
  useEffect(() => {
    let live = true;
    void boot().then((result) => live && setState(result));
    return () => {
      live = false;
    };
  }, []);
  return (
    <div className="flex h-dvh flex-col bg-bg text-fg">
      {state?.mode === "demo" && <DemoBanner />}
      <Body state={state} />
    </div>
  );
}
