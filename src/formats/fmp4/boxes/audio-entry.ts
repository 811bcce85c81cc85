/**
 * Audio sample entries (ISO/IEC 14496-12 §12.2.3 AudioSampleEntry) with their configuration box:
 * `mp4a` + `esds` (ISO/IEC 14496-14 §5.6, descriptors from ISO/IEC 14496-1 §7.2.6) and `Opus` +
 * `dOps` (Opus in ISOBMFF, "Encapsulation of Opus in ISO Base Media File Format" §4.3).
 */
import { parseOpusHead } from '../../../media/codecs/opus.js';
import { box, fullBox, i16, u8, u16, u24, u32, zeros } from './box.js';
import { sampleEntryHeader } from './video-entry.js';

/**
 * AudioSampleEntry(codingname) (§12.2.3.2), version 0. samplerate is 16.16 and so tops out at
 * 65535 Hz; higher rates are written as 0 (AAC and Opus decoders take the rate from their own
 * configuration, and the mdhd timescale carries the real rate).
 */
export function audioSampleEntry(
  codingName: string,
  channels: number,
  sampleRate: number,
  ...children: Buffer[]
): Buffer {
  return box(
    codingName,
    sampleEntryHeader(),
    zeros(8), // reserved unsigned int(32)[2]
    u16(channels), // channelcount
    u16(16), // samplesize
    u16(0), // pre_defined
    u16(0), // reserved
    u32(sampleRate <= 0xffff ? sampleRate * 0x10000 : 0), // samplerate (16.16)
    ...children,
  );
}

/** One ISO/IEC 14496-1 descriptor (§7.2.2.1 BaseDescriptor): tag + expandable size (§8.3.3) + body. */
export function descriptor(tag: number, ...body: Buffer[]): Buffer {
  const payload = Buffer.concat(body);
  const sizeBytes: number[] = [];
  let n = payload.length;
  do {
    sizeBytes.unshift(n & 0x7f);
    n = Math.floor(n / 128);
  } while (n > 0);
  for (let i = 0; i < sizeBytes.length - 1; i++) sizeBytes[i] |= 0x80; // nextByte flags
  return Buffer.concat([u8(tag), Buffer.from(sizeBytes), payload]);
}

const ES_DESCR_TAG = 0x03;
const DECODER_CONFIG_DESCR_TAG = 0x04;
const DEC_SPECIFIC_INFO_TAG = 0x05;
const SL_CONFIG_DESCR_TAG = 0x06;
/** objectTypeIndication 0x40: Audio ISO/IEC 14496-3 (14496-1 Table 5). */
const OTI_MPEG4_AUDIO = 0x40;
/** streamType 0x05 AudioStream (14496-1 Table 6) << 2 | upStream 0 << 1 | reserved 1. */
const STREAM_TYPE_AUDIO = (0x05 << 2) | 0x01;

/**
 * ESDBox (14496-14 §5.6.1): ES_Descriptor (14496-1 §7.2.6.5) with a DecoderConfigDescriptor
 * (§7.2.6.6) carrying the AudioSpecificConfig as DecoderSpecificInfo (§7.2.6.7) and the
 * SLConfigDescriptor predefined = 2 ("reserved for use in MP4 files", §7.3.2.3).
 */
export function esds(audioSpecificConfig: Buffer, esId = 0): Buffer {
  const decoderConfig = descriptor(
    DECODER_CONFIG_DESCR_TAG,
    u8(OTI_MPEG4_AUDIO),
    u8(STREAM_TYPE_AUDIO),
    u24(0), // bufferSizeDB: unknown
    u32(0), // maxBitrate: unknown
    u32(0), // avgBitrate: unknown (variable)
    descriptor(DEC_SPECIFIC_INFO_TAG, audioSpecificConfig),
  );
  const es = descriptor(
    ES_DESCR_TAG,
    u16(esId), // ES_ID
    u8(0), // streamDependenceFlag, URL_Flag, OCRstreamFlag = 0, streamPriority 0
    decoderConfig,
    descriptor(SL_CONFIG_DESCR_TAG, u8(2)),
  );
  return fullBox('esds', 0, 0, es);
}

/**
 * OpusSpecificBox `dOps` (Opus-in-ISOBMFF §4.3.2): the OpusHead fields (RFC 7845 §5.1) re-encoded
 * big-endian, without the magic; a plain Box with Version 0. The channel mapping table follows only
 * for ChannelMappingFamily != 0.
 */
export function dOps(opusHead: Buffer): Buffer {
  const head = parseOpusHead(opusHead);
  const fields = [
    u8(0), // Version
    u8(head.channels), // OutputChannelCount
    u16(head.preSkip), // PreSkip
    u32(head.inputSampleRate), // InputSampleRate
    i16(head.outputGain), // OutputGain
    u8(head.mappingFamily), // ChannelMappingFamily
  ];
  if (head.mappingFamily !== 0) {
    fields.push(
      u8(head.streamCount ?? 0),
      u8(head.coupledCount ?? 0),
      Buffer.from(head.channelMapping ?? []),
    );
  }
  return box('dOps', ...fields);
}

/** `mp4a` sample entry (14496-14 §5.6.1) with its esds. */
export function mp4a(channels: number, sampleRate: number, audioSpecificConfig: Buffer, esId = 0): Buffer {
  return audioSampleEntry('mp4a', channels, sampleRate, esds(audioSpecificConfig, esId));
}

/** Opus decodes at 48 kHz whatever the input rate (RFC 7845 §5.1; Opus-in-ISOBMFF §4.3.1). */
export const OPUS_SAMPLE_RATE = 48000;

/**
 * `Opus` sample entry (Opus-in-ISOBMFF §4.3.1): channelcount = OutputChannelCount, samplesize 16,
 * samplerate 48000.
 */
export function opus(opusHead: Buffer): Buffer {
  const head = parseOpusHead(opusHead);
  return audioSampleEntry('Opus', head.channels, OPUS_SAMPLE_RATE, dOps(opusHead));
}
