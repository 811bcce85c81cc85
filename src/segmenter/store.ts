/**
 * The in-memory window of one stream's HLS/DASH output: init segment, complete segments (with their parts for
 * LL-HLS), the segment being built, and the "stream ended" mark. Bounded: the playlist window plus a few
 * segments kept for clients still downloading (RFC 8216 §6.2.2: removed segments stay available a while).
 */
export interface StoredPart {
  bytes: Buffer;
  /** seconds */
  duration: number;
  independent: boolean;
}

/** Per-track CMAF fragments of one segment, for MPEG-DASH. */
export interface DashSegment {
  video?: Buffer;
  audio?: Buffer;
  /** media time of the segment start, ms */
  startMs: number;
  durationMs: number;
}

export interface StoredSegment {
  msn: number;
  /** seconds */
  duration: number;
  bytes: Buffer;
  parts: StoredPart[];
  programDateTime: Date;
  discontinuity: boolean;
  /** which init segment (EXT-X-MAP) this segment needs */
  initVersion: number;
  dash?: DashSegment;
}

export interface OpenSegment {
  msn: number;
  parts: StoredPart[];
  /** DASH CMAF chunks per track so far (with LL-HLS parts): the segment being written, for chunked delivery */
  dash?: { video: Buffer[]; audio: Buffer[] };
  programDateTime: Date;
  discontinuity: boolean;
  initVersion: number;
}

export class SegmentStore {
  readonly segments: StoredSegment[] = [];
  current: OpenSegment | undefined;
  init: { bytes: Buffer; version: number } | undefined;
  /** per-track init segments for DASH */
  dashInit: { video?: Buffer; audio?: Buffer } | undefined;
  /** DASH availabilityStartTime (wall-clock ms of media time 0): fixed once, it must not move between MPD updates */
  dashAvailabilityStart: number | undefined;
  ended = false;
  discontinuitySequence = 0;
  private nextMsn = 0;
  private readonly listeners = new Set<() => void>();

  constructor(
    /** segments listed in the playlist */
    readonly windowSegments: number,
    /** extra segments kept downloadable after they leave the playlist */
    readonly keepExtra = 2,
  ) {}

  /** recent init segments by version: segments still listed may need an older one */
  private readonly inits = new Map<number, Buffer>();

  setInit(bytes: Buffer): void {
    this.init = { bytes, version: (this.init?.version ?? 0) + 1 };
    this.inits.set(this.init.version, bytes);
    this.version++;
    for (const v of this.inits.keys()) if (v < this.init.version - 3) this.inits.delete(v);
  }

  initVersion(version: number): Buffer | undefined {
    return this.inits.get(version);
  }

  openSegment(programDateTime: Date, discontinuity: boolean): OpenSegment {
    this.current = {
      msn: this.nextMsn++,
      parts: [],
      dash: { video: [], audio: [] },
      programDateTime,
      discontinuity,
      initVersion: this.init?.version ?? 0,
    };
    this.version++;
    return this.current;
  }

  addDashChunk(kind: 'video' | 'audio', chunk: Buffer): void {
    if (!this.current?.dash) return;
    this.current.dash[kind].push(chunk);
    this.changed();
  }

  addPart(part: StoredPart): void {
    if (!this.current) return;
    this.current.parts.push(part);
    this.changed();
  }

  /** Completes the open segment; `bytes` given for formats without parts (MPEG-TS). */
  closeSegment(duration: number, bytes?: Buffer, dash?: DashSegment): StoredSegment | undefined {
    const c = this.current;
    if (!c) return undefined;
    this.current = undefined;
    const parts = c.parts;
    let whole = bytes;
    const seg: StoredSegment = {
      msn: c.msn,
      duration,
      // an fMP4 segment is its parts end to end: joined on first request only (LL-HLS clients fetch parts)
      get bytes(): Buffer {
        whole ??= Buffer.concat(parts.map((p) => p.bytes));
        return whole;
      },
      parts,
      programDateTime: c.programDateTime,
      discontinuity: c.discontinuity,
      initVersion: c.initVersion,
      dash,
    };
    this.segments.push(seg);
    while (this.segments.length > this.windowSegments + this.keepExtra) {
      const gone = this.segments.shift();
      if (gone?.discontinuity) this.discontinuitySequence++;
    }
    this.changed();
    return seg;
  }

  end(): void {
    this.ended = true;
    this.changed();
  }

  /** The stream is live again (a returning publisher): the playlist goes on, without EXT-X-ENDLIST. */
  reopen(): void {
    this.ended = false;
    this.version++;
  }

  /** Segments listed in the playlist (the newest `windowSegments`). */
  get listed(): StoredSegment[] {
    return this.segments.slice(-this.windowSegments);
  }

  get firstListedMsn(): number {
    return this.listed[0]?.msn ?? this.current?.msn ?? 0;
  }

  /** Discontinuity sequence of the first listed segment (counts those that left the playlist). */
  get listedDiscontinuitySequence(): number {
    const hidden = this.segments.slice(0, Math.max(0, this.segments.length - this.windowSegments));
    return this.discontinuitySequence + hidden.filter((s) => s.discontinuity).length;
  }

  segment(msn: number): StoredSegment | undefined {
    return this.segments.find((s) => s.msn === msn);
  }

  /** A part of a complete or open segment. */
  part(msn: number, index: number): StoredPart | undefined {
    if (this.current?.msn === msn) return this.current.parts[index];
    return this.segment(msn)?.parts[index];
  }

  /** Last complete segment's MSN (-1 if none) */
  get lastMsn(): number {
    return this.segments.at(-1)?.msn ?? -1;
  }

  /** Called on every new part, segment or the end: blocked requests re-check. Returns an unsubscribe. */
  onChange(cb: () => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  /** bumped on every change: rendered playlists are cached per version */
  version = 0;

  private changed(): void {
    this.version++;
    for (const cb of [...this.listeners]) cb();
  }
}
