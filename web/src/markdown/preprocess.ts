// Text fixes before markdown parsing, applied to prose only (never inside fenced blocks or inline code):
// LaTeX \(…\) / \[…\] become $…$ / $$…$$, and a $ before a digit is escaped so prices are not read as math.
import { escapeCurrencyDollars, normalizeMathDelimiters } from "@assistant-ui/react-markdown";

const FENCE = /^ {0,3}(`{3,}|~{3,})/;
// A backtick run, then anything up to the same run (CommonMark code spans, near enough for this purpose).
const INLINE_CODE = /(`+)([\s\S]*?[^`])\1(?!`)/g;

const fixProse = (text: string): string => escapeCurrencyDollars(normalizeMathDelimiters(text));

/** Applies the fixes to a run of prose lines, skipping inline code spans. */
function fixOutsideInlineCode(prose: string): string {
  let out = "";
  let last = 0;
  for (const match of prose.matchAll(INLINE_CODE)) {
    out += fixProse(prose.slice(last, match.index)) + match[0];
    last = match.index + match[0].length;
  }
  return out + fixProse(prose.slice(last));
}

/** The text with math delimiters normalised and currency escaped outside code. */
export function preprocessMarkdown(text: string): string {
  if (!text.includes("$") && !text.includes("\\") && !text.includes("[/")) return text;
  const out: string[] = [];
  let prose: string[] = [];
  let fence: string | null = null;
  const flush = () => {
    if (prose.length > 0) out.push(fixOutsideInlineCode(prose.join("\n")));
    prose = [];
  };
  for (const line of text.split("\n")) {
    const marker = FENCE.exec(line)?.[1] ?? null;
    if (fence === null) {
      if (marker === null) {
        prose.push(line);
        continue;
      }
      flush();
      fence = marker;
      out.push(line);
      continue;
    }
    out.push(line);
    // A closing fence: the same character, at least as long, and nothing after it.
    if (marker !== null && marker[0] === fence[0] && marker.length >= fence.length && line.trim() === marker) fence = null;
  }
  flush();
  return out.join("\n");
}

/** Whether the text may hold math, so the KaTeX chunk is worth loading. */
export const mayHoldMath = (text: string): boolean => text.includes("$");
