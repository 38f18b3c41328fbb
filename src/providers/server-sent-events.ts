/** Parses a text/event-stream body into `{ event, data }` records (WHATWG SSE framing). */
export interface SseRecord {
  event: string;
  data: string;
}

export function parseSse(text: string): SseRecord[] {
  const out: SseRecord[] = [];
  for (const block of text.replace(/\r\n?/g, "\n").split("\n\n")) {
    let event = "message";
    const data: string[] = [];
    for (const line of block.split("\n")) {
      if (!line || line.startsWith(":")) continue;
      const i = line.indexOf(":");
      const field = i < 0 ? line : line.slice(0, i);
      const value = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
      if (field === "event") event = value;
      else if (field === "data") data.push(value);
    }
    if (data.length) out.push({ event, data: data.join("\n") });
  }
  return out;
}

export function isEventStream(res: Response): boolean {
  return (res.headers.get("content-type") ?? "").includes("text/event-stream");
}
