/**
 * Maps a publisher's 32-bit RTMP timestamps to one extended, per-track monotonic timeline for the stream.
 * - 32-bit rollover (49.7 days): deltas are taken as signed 32-bit differences (protocol brief §1.6).
 * - a publisher that reconnects within the reconnect window continues after the last output time,
 *   so players never see time go backwards.
 */
export type TrackKind = 'audio' | 'video' | 'data';

interface TrackState {
  last32: number;
  lastExt: number;
  lastOut: number;
}

export class Timeline {
  private readonly tracks = new Map<TrackKind, TrackState>();
  private offset = 0;
  private sessionStarted = false;
  private maxOut = -1;

  /** Called when a (new) publisher session starts: its first timestamp is placed just after what players saw. */
  newSession(): void {
    for (const t of this.tracks.values()) t.last32 = -1;
    this.sessionStarted = false;
  }

  map(track: TrackKind, ts32: number): number {
    let st = this.tracks.get(track);
    if (!st) {
      st = { last32: -1, lastExt: 0, lastOut: -1 };
      this.tracks.set(track, st);
    }
    let ext: number;
    if (st.last32 < 0) {
      // first message of this track in this session: anchor to a track already seen in the session, so a
      // track that starts just after a 32-bit wrap lands after it, not 49.7 days earlier
      let ref: TrackState | undefined;
      for (const t of this.tracks.values()) if (t !== st && t.last32 >= 0) ref = t;
      ext = ref ? ref.lastExt + ((ts32 - ref.last32) | 0) : ts32;
    } else {
      ext = st.lastExt + ((ts32 - st.last32) | 0);
    }
    st.last32 = ts32 >>> 0;
    st.lastExt = ext;
    if (!this.sessionStarted) {
      this.sessionStarted = true;
      this.offset = this.maxOut < 0 ? 0 : this.maxOut + 1 - ext;
    }
    let out = ext + this.offset;
    if (out < st.lastOut) out = st.lastOut; // monotonic per track
    if (out < 0) out = 0;
    st.lastOut = out;
    if (out > this.maxOut) this.maxOut = out;
    return out;
  }
}
