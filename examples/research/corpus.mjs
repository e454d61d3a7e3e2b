// A tiny offline corpus shared by the search stub and the fetch MCP server.
export const CORPUS = [
  {
    url: 'https://example.org/agents/tool-calling',
    title: 'Tool calling in LLM agents',
    text: 'Models emit structured tool calls; the runtime validates arguments, runs the tool and feeds the result back until the model answers.',
  },
  {
    url: 'https://example.org/agents/mcp',
    title: 'The Model Context Protocol',
    text: 'MCP servers expose tools over stdio or streamable HTTP so any agent runtime can use them without custom adapters.',
  },
  {
    url: 'https://example.org/agents/structured-output',
    title: 'Structured output',
    text: 'Asking for JSON that matches a schema turns free text into data that later steps can loop over and branch on.',
  },
  {
    url: 'https://example.org/agents/durability',
    title: 'Durable agent workflows',
    text: 'Recording every step lets a crashed run resume; idempotency keys let tools skip side effects already done.',
  },
];

/** Pages whose title or text shares a word with the query (all pages when none does). */
export function searchCorpus(query, limit = 3) {
  const words = String(query).toLowerCase().split(/\W+/).filter((w) => w.length > 3);
  const hits = CORPUS.filter((p) => words.some((w) => `${p.title} ${p.text}`.toLowerCase().includes(w)));
  return (hits.length ? hits : CORPUS).slice(0, limit).map(({ url, title }) => ({ url, title }));
}
