// Mermaid's own parser, run in a jsdom window (it expects a browser), to prove
// the generated diagrams are valid syntax and not just plausible text.
import { JSDOM } from "jsdom";

let parser: Promise<(text: string) => Promise<unknown>> | undefined;

export function parseMermaid(text: string): Promise<unknown> {
  parser ??= (async () => {
    const dom = new JSDOM("<!doctype html><html><body></body></html>");
    Object.assign(globalThis, { window: dom.window, document: dom.window.document });
    const { default: mermaid } = await import("mermaid");
    mermaid.initialize({ startOnLoad: false });
    return (t: string) => mermaid.parse(t);
  })();
  return parser.then((parse) => parse(text));
}
