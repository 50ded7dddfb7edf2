import { Readable } from 'node:stream';
import { stringify } from 'csv-stringify';
import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * `Accept: text/csv` on any list (SPEC §5): the same rows as the JSON pages, as one CSV document for
 * spreadsheets. One place for every list:
 * - streamed in keyset batches through the list's own page function (same filters, scope, order), so
 *   memory stays flat whatever the size, on Postgres and on PGlite alike;
 * - every row matching the filters, from `cursor` if one is given (`limit` is the batch size of a
 *   JSON page and does not cut the export);
 * - spreadsheet-safe: a UTF-8 byte-order mark (Excel reads the encoding), and a cell starting with
 *   = + - @ tab or CR is prefixed with ' so no spreadsheet runs it as a formula (OWASP CSV injection),
 *   and a cell holding any locale's separator (`,` `;` tab) is quoted.
 */

export type Page<T> = { items: T[]; nextCursor: string | null };
export type PageFetcher<T> = (cursor: string | undefined, limit: number) => Promise<Page<T>>;

export type CsvCell = string | number | boolean | null | undefined;
/** A column: its header and how to read it from a row (default: the property named like the header). */
export type CsvColumn<T> = { header: string; value?: (row: T) => CsvCell };

const EXPORT_BATCH = 1000;

/** Whether the client asked for CSV: `text/csv` ranked at least as high as JSON in `Accept`. */
export function wantsCsv(request: FastifyRequest): boolean {
  const accept = request.headers.accept;
  if (!accept) return false;
  let csv = -1;
  let json = -1;
  for (const range of accept.split(',')) {
    const [type, ...params] = range.trim().toLowerCase().split(';');
    const qParam = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const q = qParam ? Number(qParam.slice(2)) : 1;
    if (!Number.isFinite(q)) continue;
    if (type === 'text/csv') csv = Math.max(csv, q);
    else if (type === 'application/json' || type === 'application/*') json = Math.max(json, q);
  }
  return csv > 0 && csv >= json;
}

/** Every row from the first page onwards, one batch in memory at a time. */
export async function* allRows<T>(
  fetchPage: PageFetcher<T>,
  first: Page<T>,
  batch = EXPORT_BATCH,
): AsyncGenerator<T> {
  let page = first;
  for (;;) {
    yield* page.items;
    if (!page.nextCursor) return;
    page = await fetchPage(page.nextCursor, batch);
  }
}

function cell(v: CsvCell): string {
  if (v === null || v === undefined) return '';
  return String(v);
}

/**
 * Answers the request with the whole list as CSV. The first batch is read before anything is sent,
 * so a bad cursor or filter still answers a problem document; later batches stream with
 * back-pressure (a slow client slows the reads, it does not fill memory).
 */
export async function sendCsv<T>(
  reply: FastifyReply,
  opts: {
    filename: string;
    columns: CsvColumn<T>[];
    fetchPage: PageFetcher<T>;
    cursor?: string;
    batchSize?: number;
  },
): Promise<FastifyReply> {
  const batch = opts.batchSize ?? EXPORT_BATCH;
  const first = await opts.fetchPage(opts.cursor, batch);
  const columns = opts.columns;
  async function* records() {
    for await (const row of allRows(opts.fetchPage, first, batch)) {
      yield columns.map((c) =>
        cell(c.value ? c.value(row) : ((row as Record<string, CsvCell>)[c.header] ?? null)),
      );
    }
  }
  const csv = stringify({
    header: true,
    columns: columns.map((c) => c.header),
    bom: true,
    escape_formulas: true,
    // A separator of any locale inside a cell is quoted: spreadsheets split on `;` or tab in some locales.
    quoted_match: /[,;\t]/,
    eof: true,
  });
  const source = Readable.from(records());
  source.on('error', (err) => csv.destroy(err));
  source.pipe(csv);
  return reply
    .header('content-type', 'text/csv; charset=utf-8')
    .header('content-disposition', `attachment; filename="${opts.filename.replace(/[^A-Za-z0-9._-]/g, '_')}"`)
    .header('cache-control', 'no-store')
    .send(csv);
}

/** Columns named like the properties of a flat row. */
export const columnsOf = <T>(...headers: (keyof T & string)[]): CsvColumn<T>[] =>
  headers.map((header) => ({ header }));

/** Documents the CSV alternative in OpenAPI (added to a list route's description). */
export const CSV_NOTE =
  'Send `Accept: text/csv` for the whole filtered list as CSV (same rows and order as the JSON pages, ' +
  'from `cursor` if given; `limit` does not cut the export), streamed in constant memory. Cells that ' +
  'a spreadsheet would run as a formula are prefixed with an apostrophe; cells holding `,` `;` or a tab are quoted.';
