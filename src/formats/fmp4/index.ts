/** fMP4/CMAF muxer for LL-HLS and DASH: init segment + moof/mdat fragments. */

export { SAMPLE_FLAGS_NON_SYNC, SAMPLE_FLAGS_SYNC } from './boxes/fragment-boxes.js';
export { styp } from './boxes/ftyp.js';
export { fragment, type TrackRun } from './fragment.js';
export { initSegment } from './init-segment.js';
export { msToTicks, trackTimescale, VIDEO_TIMESCALE } from './timescale.js';
