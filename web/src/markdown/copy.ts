// Clipboard write that also works where the Clipboard API is refused (an iframe without clipboard-write permission).

type PolicyDocument = Document & {
  permissionsPolicy?: { allowsFeature(feature: string): boolean };
  featurePolicy?: { allowsFeature(feature: string): boolean };
};

/** Whether the embedding page granted clipboard-write (`<iframe allow="clipboard-write">`); unknown counts as yes. */
function clipboardAllowed(): boolean {
  const policy = (document as PolicyDocument).permissionsPolicy ?? (document as PolicyDocument).featurePolicy;
  return policy ? policy.allowsFeature("clipboard-write") : true;
}

/** Copies `text`; resolves false when neither the Clipboard API nor the execCommand fallback worked. */
export async function copyText(text: string): Promise<boolean> {
  try {
    // Asking a blocked Clipboard API logs a policy violation, so go straight to the fallback then.
    if (!clipboardAllowed() || !navigator.clipboard) throw new Error("clipboard-write not allowed");
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    try {
      return document.execCommand("copy");
    } catch {
      return false;
    } finally {
      area.remove();
    }
  }
}
