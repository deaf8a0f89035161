// ```csv → a table whose first row is the header. Quoted fields ("a, b", "" for a quote) and CRLF are understood.
import { useMemo } from "react";
import type { SyntaxHighlighterProps } from "@assistant-ui/react-markdown";
import { CodeShell } from "./CodeShell";

/** Splits CSV text into rows of fields. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') {
        quoted = false;
      } else {
        field += ch;
      }
    } else if (ch === '"' && field === "") {
      quoted = true;
    } else if (ch === ",") {
      row.push(field);
      field = "";
    } else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && text[i + 1] === "\n") i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
    } else {
      field += ch;
    }
  }
  if (field !== "" || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows.filter((r) => r.some((f) => f.trim() !== ""));
}

export function CsvBlock({ language, code }: SyntaxHighlighterProps) {
  const rows = useMemo(() => parseCsv(code), [code]);
  const [header, ...body] = rows;
  const width = Math.max(0, ...rows.map((r) => r.length));
  const cells = (r: string[]) => Array.from({ length: width }, (_, i) => r[i] ?? "");
  return (
    <CodeShell language={language} code={code}>
      {header ? (
        <div className="aug-table-wrap">
          <table data-testid="csv-table">
            <thead>
              <tr>
                {cells(header).map((cell, i) => (
                  <th key={i} scope="col">
                    {cell}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {body.map((r, ri) => (
                <tr key={ri}>
                  {cells(r).map((cell, i) => (
                    <td key={i}>{cell}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : (
        <pre>
          <code>{code}</code>
        </pre>
      )}
    </CodeShell>
  );
}
