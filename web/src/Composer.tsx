// Composer: textarea (Enter sends, Shift+Enter newline), Send, Stop while a reply streams, and the toolbar
// (model picker, connectors menu) below it, outside the form so its controls never submit.
import { AuiIf, ComposerPrimitive } from "@assistant-ui/react";
import { ModelPicker } from "./ModelPicker";
import { ConnectorsMenu } from "./ConnectorsMenu";

const button =
  "shrink-0 rounded-lg px-4 py-2 text-sm font-medium focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-accent disabled:opacity-40";

export function Composer() {
  return (
    <div className="flex flex-col gap-2">
      <ComposerPrimitive.Root className="flex items-end gap-2">
        <ComposerPrimitive.Input
          data-testid="composer-input"
          aria-label="Message"
          placeholder="Send a message…"
          submitMode="enter"
          autoFocus
          rows={1}
          maxRows={8}
          className="min-w-0 flex-1 resize-none rounded-lg border border-line bg-card px-3 py-2 text-base text-fg placeholder:text-muted focus:border-accent focus:outline-none"
        />
        <AuiIf condition={(s) => s.thread.isRunning}>
          <ComposerPrimitive.Cancel data-testid="stop" className={`${button} border border-line bg-surface text-fg`}>
            Stop
          </ComposerPrimitive.Cancel>
        </AuiIf>
        <ComposerPrimitive.Send data-testid="send" className={`${button} bg-accent text-accent-fg`}>
          Send
        </ComposerPrimitive.Send>
      </ComposerPrimitive.Root>
      <div data-testid="composer-toolbar" className="relative flex min-w-0 flex-wrap items-center gap-2">
        <ModelPicker />
        <ConnectorsMenu />
      </div>
    </div>
  );
}
