import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { renderConfigDocs } from './docs.js';

it('docs/configuration.md matches the schema (run `npm run docs:config` after changing it)', () => {
  expect(readFileSync('docs/configuration.md', 'utf8')).toBe(renderConfigDocs());
});

it('every leaf of the schema is documented with its environment variable', () => {
  const doc = renderConfigDocs();
  for (const key of ['rtmp.port', 'http.port', 'streams.duplicatePublisher', 'egress.maxQueueBytes']) {
    expect(doc).toContain(`\`${key}\``);
  }
  expect(doc).toContain('`TIDECAST_RTMP_PORT`');
  expect(doc).toContain('`TIDECAST_STREAMS_RECONNECT_WAIT_MS`');
});
