import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { EvidenceDeps } from '../../src/evidence/deps.ts';
import type { IncomingFile } from '../../src/evidence/intake/incoming.ts';
import { uploadEvidence } from '../../src/evidence/service.ts';
import { LocalEvidenceStore } from '../../src/storage/local.ts';
import { PrincipalCache } from '../../src/users/tokens.ts';
import { draftOfNewSchool } from '../helpers/applications.ts';
import { useWorld } from '../helpers/setup.ts';
import { pdf, png, zip } from './fixtures.ts';

/**
 * The intake's steps fed by a door other than multipart, as a tus or browser-folder door will: a few
 * lines build the door-neutral upload, and the rules (limits, duplicates, nothing kept on failure)
 * are the same.
 */
let dir: string;
const { t, w } = useWorld(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sa-intake-'));
  return { EVIDENCE_DIR: dir, MAX_FILE_BYTES: '1024' };
});
let deps: EvidenceDeps;
beforeAll(async () => {
  deps = {
    db: t.database.db,
    store: new LocalEvidenceStore(dir),
    limits: t.config.limits,
    zipLimits: t.config.zipLimits,
    stripLocation: true,
    scratchDir: dir,
  };
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function principalOf(token: string) {
  const principal = await new PrincipalCache(0).lookup(t.database.db, token);
  if (!principal) throw new Error('setup: no principal for the token');
  return principal;
}

/** A file held in memory, as a door that already has the bytes would hand it over. */
const inMemory = (filename: string, content: Buffer, truncated = false): IncomingFile => ({
  filename,
  stream: (async function* () {
    yield content;
  })(),
  truncated: () => truncated,
});

const rowsOf = (applicationId: string) =>
  t.database.db.selectFrom('evidence').selectAll().where('application_id', '=', applicationId).execute();

describe('the intake behind another door', () => {
  it('files plain files and a folder zip, the same bytes once', async () => {
    const id = await draftOfNewSchool(t.database.db, w, 'Intake school');
    const result = await uploadEvidence(deps, await principalOf(w.applicantA.token), id, async () => ({
      criteria: 'L1',
      files: [
        inMemory('a.pdf', pdf('other-door')),
        inMemory('again.pdf', pdf('other-door')),
        inMemory('folder.zip', zip([{ name: 'E2/photo.png', content: png('other-door') }])),
      ],
    }));
    expect(result.items.map((i) => [i.filename, i.criteria])).toEqual([
      ['a.pdf', ['L1']],
      ['photo.png', ['E2']],
    ]);
    expect(await rowsOf(id)).toHaveLength(2);
  });

  it('a file the door cut short → 413 for the file, and nothing is kept', async () => {
    const id = await draftOfNewSchool(t.database.db, w, 'Intake school');
    await expect(
      uploadEvidence(deps, await principalOf(w.applicantA.token), id, async () => ({
        criteria: 'L1',
        files: [inMemory('fine.pdf', pdf('kept?')), inMemory('cut.pdf', pdf('cut'), true)],
      })),
    ).rejects.toMatchObject({ code: 'payload-too-large', extra: { limit: 'maxFileBytes' } });
    expect(await rowsOf(id)).toEqual([]);
    expect(await readdir(join(dir, '.tmp'))).toEqual([]);
  });

  it('names agree with bytes whatever the door: refused names, text names, stored extensions', async () => {
    const id = await draftOfNewSchool(t.database.db, w, 'Intake school');
    const applicant = await principalOf(w.applicantA.token);
    // A browser folder upload names files by their relative paths.
    await expect(
      uploadEvidence(deps, applicant, id, async () => ({
        criteria: 'L1',
        files: [inMemory('Evidence/L1/a.pdf', pdf('door a')), inMemory('Evidence/L1/page.html', png('door'))],
      })),
    ).rejects.toMatchObject({
      code: 'unsupported-media-type',
      message: 'page.html: a name ending in .html is not accepted, whatever the file holds',
    });
    await expect(
      uploadEvidence(deps, applicant, id, async () => ({
        criteria: 'L1',
        files: [inMemory('minutes.pdf', Buffer.from('Minutes of the welcome group'))],
      })),
    ).rejects.toMatchObject({ code: 'unsupported-media-type' });
    expect(await rowsOf(id)).toEqual([]);
    const result = await uploadEvidence(deps, applicant, id, async () => ({
      criteria: 'L1',
      files: [inMemory('photo.pdf', png('door renamed')), inMemory('minutes', Buffer.from('Minutes'))],
    }));
    expect(result.items.map((i) => i.filename)).toEqual(['photo.png', 'minutes.txt']);
  });

  it('a caller who may not add evidence is refused before the door is opened', async () => {
    const id = await draftOfNewSchool(t.database.db, w, 'Intake school');
    let opened = false;
    await expect(
      uploadEvidence(deps, await principalOf(w.leadA.token), id, async () => {
        opened = true;
        return { criteria: 'L1', files: [] };
      }),
    ).rejects.toMatchObject({ code: 'forbidden' });
    expect(opened).toBe(false);
  });
});
