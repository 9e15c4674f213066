// Fenced code blocks of a Markdown file, and the README's conventions for them:
// the language line says whether a shell block is run by the tests or needs
// something this machine does not have (see README "How the code blocks ... are checked").

export interface CodeBlock {
  /** First word of the info string: sh, yaml, mermaid, ... */
  readonly lang: string;
  /** Second word of the info string, if any: api, docker, kind, ... */
  readonly marker: string;
  readonly body: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
}

export const SHELL_LANGS = new Set(["sh", "bash", "shell", "console"]);

/** How each shell marker is checked; "" is a block the test runs as written. */
export const SHELL_MARKERS = {
  "": "run as written from the project root",
  local: "starts the local runner; the API blocks run against it",
  api: "run in order against the running local mesh, statuses checked",
  ci: "the test command, compared with .ci/run",
  suite: "part of the test suite",
  writes: "regenerates committed files; staleness tests check them",
  pulumi: "needs the Pulumi CLI and Docker or a cluster: not run here",
  docker: "needs Docker: not run here",
  kind: "needs kind and kubectl: not run here",
} as const;

/** Other blocks the README may contain, by "lang marker". */
export const OTHER_BLOCKS = new Set(["mermaid", "text", "yaml stack"]);

export function codeBlocks(markdown: string): CodeBlock[] {
  const lines = markdown.split("\n");
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)(?:[ \t]+(.*?))?[ \t]*$/.exec(lines[i] ?? "");
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```[ \t]*$/.test(lines[i] ?? ""); i++) body.push(lines[i] ?? "");
    if (i >= lines.length) throw new Error(`code block opened on line ${start + 1} is never closed`);
    blocks.push({ lang: open[1] ?? "", marker: (open[2] ?? "").trim(), body: body.join("\n"), line: start + 1 });
  }
  return blocks;
}

/** Joins backslash-continued lines, so each command is one line (for line-numbered status checks). */
export function joinContinuations(script: string): string {
  return script.replace(/\\\n[ \t]*/g, " ");
}

/** Expected HTTP status of each line that runs curl, from its trailing `# NNN` comment (1-based lines). */
export function expectedStatuses(script: string): { expected: Map<number, number>; unmarked: string[] } {
  const expected = new Map<number, number>();
  const unmarked: string[] = [];
  script.split("\n").forEach((text, i) => {
    if (!/(^|[\s($|])curl\s/.test(text)) return;
    const status = /#\s*(\d{3})\b[^#]*$/.exec(text);
    if (status) expected.set(i + 1, Number(status[1]));
    else unmarked.push(text);
  });
  return { expected, unmarked };
}

/** `README_STATUS <line> <code>` lines the curl wrapper writes to stderr. */
export function recordedStatuses(stderr: string): Array<{ line: number; status: number }> {
  return [...stderr.matchAll(/^README_STATUS (\d+) (\d{3})$/gm)].map((m) => ({ line: Number(m[1]), status: Number(m[2]) }));
}

/**
 * Sourced through BASH_ENV before each API block: curl reports, on stderr, the
 * script line it was called from and the status it got (the block's own output
 * is untouched, so `$(curl ... | jq ...)` still works).
 */
export const CURL_WRAPPER = `curl() {
  command curl -w "%{stderr}README_STATUS \${BASH_LINENO[0]} %{http_code}\\n" "$@"
}
`;
