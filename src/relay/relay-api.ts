import type { IncomingMessage } from 'node:http';
import { ApiError, type Call, type Reply } from '../api/router.js';
import type { RelayService } from './relay-service.js';
import { RelayRuleError } from './relay-service.js';
import { pushSchema } from './schema.js';

/** REST handlers for relays (mounted in src/api/routes.ts, described in src/api/openapi.ts). */

const MAX_BODY_BYTES = 16 * 1024;
const ID_RE = /^[A-Za-z0-9_.:-]{1,64}$/;

function service(relays: RelayService | undefined): RelayService {
  if (!relays) throw new ApiError(404, 'API_NOT_FOUND', 'relays are not available');
  return relays;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new ApiError(400, 'API_BAD_REQUEST', 'request body too large');
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new ApiError(400, 'API_BAD_REQUEST', 'the body must be JSON');
  }
}

export function listRelays(relays: RelayService | undefined): Reply {
  return { status: 200, body: service(relays).list() };
}

export async function addPush(relays: RelayService | undefined, c: Call): Promise<Reply> {
  const svc = service(relays);
  const parsed = pushSchema.safeParse(await readJson(c.req));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
    throw new ApiError(400, 'API_BAD_REQUEST', `invalid push: ${where}${issue?.message ?? 'bad body'}`);
  }
  try {
    return { status: 201, body: svc.addPush(parsed.data) };
  } catch (err) {
    if (err instanceof RelayRuleError)
      throw new ApiError(err.conflict ? 409 : 400, 'API_BAD_REQUEST', err.message);
    throw err;
  }
}

export function removePush(relays: RelayService | undefined, c: Call): Reply {
  const { id } = c.params;
  if (!ID_RE.test(id)) throw new ApiError(400, 'API_BAD_REQUEST', 'invalid push id');
  if (!service(relays).removePush(id)) throw new ApiError(404, 'API_NOT_FOUND', `no push ${id}`);
  return { status: 204 };
}
