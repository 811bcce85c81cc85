import { configSchema } from './schema.js';
import { configLeaves, envName, sectionDescriptions } from './walk.js';

function show(v: unknown): string {
  if (v === undefined) return '—';
  return `\`${JSON.stringify(v)}\``;
}

function typeOf(kind: string, schema: unknown): string {
  const def = (schema as { def?: { entries?: Record<string, string> } }).def;
  if (kind === 'enum' && def?.entries)
    return Object.keys(def.entries)
      .map((k) => `\`${k}\``)
      .join(' \\| ');
  return kind;
}

/** docs/configuration.md, generated from the schema (`npm run docs:config`); a test keeps it current. */
export function renderConfigDocs(): string {
  const sections = sectionDescriptions(configSchema);
  const lines = [
    '# Configuration reference',
    '',
    '<!-- generated from src/config/schema.ts by `npm run docs:config`; do not edit by hand -->',
    '',
    'Tidecast reads, in increasing precedence: built-in defaults, a YAML or JSON file (`--config file` or',
    '`TIDECAST_CONFIG`), `TIDECAST_*` environment variables, then command-line flags (`--host`, `--rtmp-port`,',
    '`--http-port`, `--log-level`, `--log-format`). Unknown keys and invalid values stop start-up with a message',
    'naming the key path.',
    '',
    'Example `tidecast.yaml`:',
    '',
    '```yaml',
    'host: 0.0.0.0',
    'rtmp:',
    '  port: 1935',
    'http:',
    '  port: 8080',
    'apps:',
    '  live: { publish: open, play: open }',
    'streams:',
    '  duplicatePublisher: reject',
    '  reconnectWaitMs: 5000',
    '```',
    '',
  ];
  const groups = new Map<string, ReturnType<typeof configLeaves>>();
  for (const leaf of configLeaves(configSchema)) {
    const top = leaf.path.length > 1 ? leaf.path[0] : '';
    groups.set(top, [...(groups.get(top) ?? []), leaf]);
  }
  for (const [top, leaves] of [...groups].sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : 0))) {
    lines.push(top ? `## \`${top}\`` : '## Top level', '');
    if (top && sections.get(top)) lines.push(sections.get(top) ?? '', '');
    lines.push('| key | type | default | env | description |', '|---|---|---|---|---|');
    for (const leaf of leaves) {
      const env = leaf.kind === 'record' ? `\`${envName(leaf.path)}\` (JSON)` : `\`${envName(leaf.path)}\``;
      const desc = (leaf.description ?? '').replace(/\|/g, '\\|');
      lines.push(
        `| \`${leaf.path.join('.')}\` | ${typeOf(leaf.kind, leaf.schema)} | ${show(leaf.defaultValue)} | ${env} | ${desc} |`,
      );
    }
    lines.push('');
  }
  lines.push(
    '## Apps',
    '',
    'Each key of `apps` is an application name (the first path segment of `rtmp://host/<app>/<stream>` and',
    '`http://host/<app>/<stream>.flv`). Only listed apps accept connections. Per app: `publish` and `play`, each',
    'a mode, or an object `{ mode, ipAllow, ipDeny }` (IP rules, CIDR, IPv4 or IPv6; deny wins):',
    '',
    '| mode | who may |',
    '|---|---|',
    '| `open` | anyone (the default) |',
    '| `deny` | no one |',
    '| `key` | a client with a stream key from `access.keys` / `access.keysFile`, given as the stream name (OBS) or `?key=` |',
    '| `signed` | a URL signed with `access.secrets`: `?expires=<unix s>&token=<HMAC>` (`tidecast sign`) |',
    '| `webhook` | whoever the webhook (`webhooks.url` or `webhooks.events.publish` / `.play`) allows |',
    '',
    'See docs/security.md for a complete secure setup.',
    '',
  );
  return `${lines.join('\n')}\n`;
}
