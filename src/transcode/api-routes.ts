import { type Route, route } from '../api/router.js';
import type { TranscodeService, TranscodeStats } from './transcode-service.js';

/** What the route needs from the API context (ApiContext has it: `server.transcode`). */
export interface TranscodeApiContext {
  readonly server: { readonly transcode?: TranscodeService };
}

/**
 * `GET /api/v1/transcodes`: every transcoding child (ladder or exec hook) with its state, pid, restarts, last exit,
 * ffmpeg progress (fps, speed, out_time), recent stderr, input drops and renditions. Mount by adding
 * `...TRANSCODE_ROUTES` to API_ROUTES in src/api/routes.ts.
 */
export const TRANSCODE_ROUTES: Route<TranscodeApiContext>[] = [
  route('GET', '/api/v1/transcodes', (ctx) => {
    const body: TranscodeStats = ctx.server.transcode?.stats() ?? { ffmpeg: undefined, jobs: [] };
    return { status: 200, body };
  }),
];
