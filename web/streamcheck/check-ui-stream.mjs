// Validates a UI-message-stream body with the `ai` package's own client code (the parser the browser
// uses), plus the framing checks the client does not make. Usage: node check-ui-stream.mjs FILE.sse [MESSAGE.json]
// (MESSAGE.json: the assistant message the stream continues, as after a tool approval). Prints {ok, problems, inBandErrors, message} as JSON; exit code 0 when ok.
import fs from "node:fs";
import { DefaultChatTransport, readUIMessageStream } from "ai";

export async function checkUIStream(body, continuing) {
  const problems = [];
  const text = new TextDecoder().decode(body);
  const events = text.split("\n\n").filter((e) => e.trim() !== "" && !e.startsWith(":"));
  for (const e of events) {
    if (!e.startsWith("data: ") || e.includes("\n")) problems.push(`bad SSE event: ${JSON.stringify(e.slice(0, 80))}`);
  }
  if (events.at(-1) !== "data: [DONE]") problems.push("stream does not end with data: [DONE]");
  const transport = new DefaultChatTransport({
    api: "http://stream.invalid/chat",
    fetch: async () => new Response(body, { headers: { "content-type": "text/event-stream" } }),
  });
  const chunks = await transport.sendMessages({
    chatId: "c", messages: [], trigger: "submit-message", messageId: undefined, abortSignal: undefined,
  });
  const inBandErrors = [];
  let message;
  // AI_* errors are protocol violations; a plain Error is an in-band {"type":"error"} chunk.
  for await (const m of readUIMessageStream({
    message: continuing,
    stream: chunks,
    onError: (err) => (err.name?.startsWith("AI_") ? problems.push(`${err.name}: ${err.message.slice(0, 300)}`) : inBandErrors.push(err.message)),
  })) {
    message = m;
  }
  return { ok: problems.length === 0, problems, inBandErrors, message };
}

const file = process.argv[2];
if (file) {
  const continuing = process.argv[3] ? JSON.parse(fs.readFileSync(process.argv[3], "utf8")) : undefined;
  const result = await checkUIStream(fs.readFileSync(file), continuing);
  console.log(JSON.stringify(result));
  // exitCode, not exit(): exit() would cut off a large result still being written to a pipe.
  process.exitCode = result.ok ? 0 : 1;
}
