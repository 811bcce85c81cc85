import { z } from 'zod';

/** Per-app backup ingest (failover) settings. */
export const backupIngestSchema = z
  .strictObject({
    enabled: z
      .boolean()
      .default(false)
      .describe(
        'Streams in this app may have a primary and a backup publisher (`<name>` and `<name>?role=backup`); players watch whichever is live.',
      ),
    stallMs: z
      .number()
      .int()
      .min(100)
      .default(3_000)
      .describe('A source that sends nothing for this long counts as stalled: switch to the other one.'),
    switchBack: z
      .boolean()
      .default(true)
      .describe('Return to the primary once it is live and sending again (at its next keyframe).'),
    param: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,32}$/)
      .default('role')
      .describe('Query parameter that marks the backup publisher (`?<param>=backup`).'),
  })
  .prefault({})
  .describe('Backup ingest with failover.');

export type BackupIngestConfig = z.output<typeof backupIngestSchema>;
