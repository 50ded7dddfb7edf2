import type { EvidenceDeps } from '../deps.ts';
import { mayHavePreview, storePreview } from '../previews.ts';
import { type EvidenceRow, markPreviewStored } from '../repository.ts';

/**
 * Makes the previews of the filed images that have none, once their rows are committed: outside the
 * application's lock, so an upload of many photos does not hold other uploads up while they are drawn.
 * A preview that cannot be made, or a process that stops first, leaves the item without one
 * (`hasPreview` false); an upload of the same bytes again tries once more. A preview whose row was
 * deleted meanwhile is left to the orphan sweep.
 */
export async function addPreviews(deps: EvidenceDeps, rows: EvidenceRow[]): Promise<EvidenceRow[]> {
  const out: EvidenceRow[] = [];
  for (const row of rows) {
    if (row.has_preview || row.file_removed_at || !mayHavePreview(row.media_type)) {
      out.push(row);
      continue;
    }
    const key = await storePreview(deps.store, row.storage_key, deps.log);
    // The upload is committed: a failure from here on costs the preview, not the answer (the orphan
    // sweep removes a preview no row claims).
    const updated = key
      ? await markPreviewStored(deps.db, row.id).catch((err) => {
          deps.log?.warn({ err, evidenceId: row.id }, 'could not record a preview');
          return undefined;
        })
      : undefined;
    out.push(updated ?? row);
  }
  return out;
}
