// Agents for doc-extraction.yaml. The extractor asks the model for JSON and validates it with zod; an invalid
// answer fails the attempt with the reason, and the retry sends that reason back to the model. From the third
// attempt on (and with the offline `local` model, whose answers are never JSON, that is where it ends up) it
// extracts with deterministic rules instead, and each record says which way it was made.
import type { AgentDefinition } from '@codexos/multi-agent-orchestrator';
import { z } from 'zod';

const Invoice = z.object({
  vendor: z.string().min(1),
  invoiceNumber: z.string().min(1),
  date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  currency: z.enum(['EUR', 'USD', 'GBP']),
  total: z.number().nonnegative(),
});
type Invoice = z.infer<typeof Invoice>;

const DOCUMENTS = [
  'ACME Tools Ltd\nInvoice no. INV-2041\nDate: 2026-03-04\n3 x hammer  36.00\nTotal due: GBP 36.00',
  'Northwind Traders — invoice NW/77/2026, issued 2026-02-28. Amount payable: USD 1,250.50',
  'Fournitures Dupont\nFacture / Invoice: FD-0093\n2026-01-15\nTOTAL EUR 89,90',
];

/** The rule-based extractor: labelled, deterministic, good enough for these layouts. */
function byRules(doc: string): Invoice {
  const amount = doc.match(/(EUR|USD|GBP)\s*([\d.,]+)/);
  const raw = amount?.[2] ?? '0';
  const total = Number(/,\d{2}$/.test(raw) ? raw.replace(/\./g, '').replace(',', '.') : raw.replace(/,/g, ''));
  return Invoice.parse({
    vendor: doc.split(/\n| — /)[0].trim(),
    invoiceNumber: doc.match(/\b([A-Z]{2,3}[-/][\w/-]+)/)?.[1] ?? 'unknown',
    date: doc.match(/\d{4}-\d{2}-\d{2}/)?.[0] ?? '1970-01-01',
    currency: amount?.[1] ?? 'EUR',
    total,
  });
}

function fromModel(text: string): Invoice {
  const start = text.indexOf('{');
  if (start < 0) throw new Error('the answer holds no JSON object');
  const parsed = Invoice.safeParse(JSON.parse(text.slice(start, text.lastIndexOf('}') + 1)));
  if (!parsed.success)
    throw new Error(
      `the JSON does not match the schema: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  return parsed.data;
}

const lastError = new Map<string, string>();

export const agents: AgentDefinition[] = [
  {
    id: 'document-loader',
    handler: (ctx) => (ctx.input as { documents?: string[] } | undefined)?.documents ?? DOCUMENTS,
  },
  {
    id: 'invoice-extractor',
    instructions: 'You extract invoices into JSON. Answer with the JSON object only.',
    model: { capabilities: ['analysis'] },
    handler: async (ctx) => {
      const doc = String(ctx.item);
      const key = `${ctx.executionId}:${ctx.index}`;
      if (ctx.attempt >= 3) return { ...byRules(doc), extractedBy: 'rules' };
      const feedback = lastError.get(key) ? `\nYour previous answer was rejected: ${lastError.get(key)}` : '';
      const answer = await ctx.callModel(`${ctx.prompt}${feedback}`, { context: doc });
      try {
        return { ...fromModel(answer.text), extractedBy: answer.model };
      } catch (e) {
        lastError.set(key, (e as Error).message);
        throw e;
      }
    },
  },
  {
    id: 'record-collector',
    handler: (ctx) => {
      const records = ctx.deps.extract as Array<Invoice & { extractedBy: string }>;
      const totals: Record<string, number> = {};
      for (const r of records) totals[r.currency] = Math.round(((totals[r.currency] ?? 0) + r.total) * 100) / 100;
      return { count: records.length, totals, records };
    },
  },
];

export default agents;
