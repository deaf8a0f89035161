// Full-width notices: the demo banner (SPEC §7.1), the read-only banner (§8.3) and plain centred status text.
import type { ReactNode } from "react";

/** Shown at the top of every page in demo mode; rendered inside the iframe so the parent cannot hide it. */
export function DemoBanner() {
  return (
    <div role="status" data-testid="demo-banner" className="shrink-0 bg-warn px-3 py-1.5 text-center text-sm font-medium text-warn-fg">
      Demo session — not authenticated
    </div>
  );
}

/** Replaces the composer after a 503 flush-stalled from /chat. */
export function ReadOnlyBanner() {
  return (
    <div role="alert" data-testid="readonly-banner" className="rounded-lg border border-line bg-warn px-3 py-3 text-center text-sm text-warn-fg">
      Service temporarily read-only — your messages are preserved.
    </div>
  );
}

/** A centred message for boot states (loading, top-level, errors). */
export function Notice({ children, tone = "muted" }: { children: ReactNode; tone?: "muted" | "error" }) {
  return (
    <div className="flex flex-1 items-center justify-center p-6">
      <p
        role={tone === "error" ? "alert" : "status"}
        data-testid="notice"
        className={`max-w-md text-center text-sm ${tone === "error" ? "text-danger" : "text-muted"}`}
      >
        {children}
      </p>
    </div>
  );
}
