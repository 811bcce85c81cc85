/**
 * Media information boxes of an fMP4 track (ISO/IEC 14496-12): `vmhd` §12.1.2, `smhd` §12.2.2,
 * `dinf`/`dref`/`url ` §8.7.1-8.7.2, and a `stbl` §8.5.1 whose sample tables are empty because
 * every sample lives in a movie fragment (§8.8): `stsd` §8.5.2, `stts` §8.6.1.2, `stsc` §8.7.4,
 * `stsz` §8.7.3.2, `stco` §8.7.5.
 */
import { box, fullBox, i16, u16, u32, zeros } from './box.js';

/** VideoMediaHeaderBox (§12.1.2): flags = 1 is mandated; graphicsmode copy (0), opcolor 0. */
export function vmhd(): Buffer {
  return fullBox('vmhd', 0, 1, u16(0), zeros(6));
}

/** SoundMediaHeaderBox (§12.2.2): balance 0 (centre), reserved. */
export function smhd(): Buffer {
  return fullBox('smhd', 0, 0, i16(0), u16(0));
}

/** DataInformationBox (§8.7.1) with one DataEntryUrlBox flagged self-contained (flags 1: media in this file). */
export function dinf(): Buffer {
  const url = fullBox('url ', 0, 1);
  const dref = fullBox('dref', 0, 0, u32(1), url);
  return box('dinf', dref);
}

/** SampleDescriptionBox (§8.5.2) with the given sample entries. */
export function stsd(...entries: Buffer[]): Buffer {
  return fullBox('stsd', 0, 0, u32(entries.length), ...entries);
}

/** TimeToSampleBox (§8.6.1.2) with entry_count 0. */
export function emptyStts(): Buffer {
  return fullBox('stts', 0, 0, u32(0));
}

/** SampleToChunkBox (§8.7.4) with entry_count 0. */
export function emptyStsc(): Buffer {
  return fullBox('stsc', 0, 0, u32(0));
}

/** SampleSizeBox (§8.7.3.2): sample_size 0, sample_count 0. */
export function emptyStsz(): Buffer {
  return fullBox('stsz', 0, 0, u32(0), u32(0));
}

/** ChunkOffsetBox (§8.7.5) with entry_count 0. */
export function emptyStco(): Buffer {
  return fullBox('stco', 0, 0, u32(0));
}

/** SampleTableBox (§8.5.1): the sample description plus the mandatory, empty, sample tables. */
export function stbl(sampleEntry: Buffer): Buffer {
  return box('stbl', stsd(sampleEntry), emptyStts(), emptyStsc(), emptyStsz(), emptyStco());
}
