/**
 * MPEG-4 AudioSpecificConfig (ISO/IEC 14496-3 §1.6.2.1), the payload of an FLV AAC sequence header
 * (FLV spec §E.4.2.2, AACPacketType 0) and of an E-RTMP `mp4a` SequenceStart.
 */
import { TidecastError } from '../../errors.js';
import { BitReader } from '../bits/bit-reader.js';

export interface AudioSpecificConfig {
  /**
   * Core audio object type: 2 for AAC-LC, and also 2 for HE-AAC v1/v2, whose SBR/PS ride on an LC core.
   * An ADTS header uses `profile = objectType - 1` and `samplingIndex` (ISO/IEC 14496-3 §1.6.5.1).
   */
  objectType: number;
  /** Core sampling frequency index (0..12; 15 = explicit frequency, not representable in ADTS). */
  samplingIndex: number;
  /** Core decoder sample rate (half of `sampleRate` with SBR). */
  coreSampleRate: number;
  /** Output sample rate (the SBR extension rate when SBR is present). */
  sampleRate: number;
  /** Output channel count (PS turns a mono core into stereo). */
  channels: number;
  /** channelConfiguration field (0 = defined by a program_config_element). */
  channelConfig: number;
  /** Spectral Band Replication present (HE-AAC, AOT 5 explicit or backward-compatible signalling). */
  sbr: boolean;
  /** Parametric Stereo present (HE-AAC v2, AOT 29). */
  ps: boolean;
}

/** samplingFrequencyIndex table (ISO/IEC 14496-3 §1.6.3.4, Table 1.18). */
export const AAC_SAMPLE_RATES = [
  96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350,
];

/** Channels per channelConfiguration (ISO/IEC 14496-3 §1.6.3.5, Table 1.19 / Amd 4); 0 = PCE. */
const CHANNELS_BY_CONFIG: Record<number, number> = {
  1: 1,
  2: 2,
  3: 3,
  4: 4,
  5: 5,
  6: 6,
  7: 8,
  11: 7,
  12: 8,
  13: 24,
  14: 8,
};

function bad(msg: string): TidecastError {
  return new TidecastError('CODEC_BAD_CONFIG', `AudioSpecificConfig: ${msg}`);
}

/** GetAudioObjectType() with the escape value 31 -> 32 + 6 bits (§1.6.2.1). */
function readObjectType(r: BitReader): number {
  const aot = r.readBits(5);
  return aot === 31 ? 32 + r.readBits(6) : aot;
}

/** samplingFrequencyIndex plus the explicit 24-bit frequency for index 15. */
function readSampleRate(r: BitReader): { index: number; rate: number } {
  const index = r.readBits(4);
  if (index === 15) return { index, rate: r.readBits(24) };
  const rate = AAC_SAMPLE_RATES[index];
  if (rate === undefined) throw bad(`reserved samplingFrequencyIndex ${index}`);
  return { index, rate };
}

/** program_config_element() (§4.4.1.1, Table 4.2): counts the channels it declares. */
function readPceChannels(r: BitReader): number {
  r.skipBits(10); // element_instance_tag, object_type, sampling_frequency_index
  const front = r.readBits(4);
  const side = r.readBits(4);
  const back = r.readBits(4);
  const lfe = r.readBits(2);
  const assoc = r.readBits(3);
  const cc = r.readBits(4);
  if (r.readBool()) r.skipBits(4); // mono_mixdown
  if (r.readBool()) r.skipBits(4); // stereo_mixdown
  if (r.readBool()) r.skipBits(3); // matrix_mixdown_idx + pseudo_surround_enable
  let channels = lfe;
  for (let i = 0; i < front + side + back; i++) {
    channels += r.readBit() ? 2 : 1; // is_cpe
    r.skipBits(4); // element tag
  }
  r.skipBits(4 * lfe + 4 * assoc + 5 * cc);
  r.byteAlign();
  r.skipBits(8 * r.readBits(8)); // comment_field_data
  return channels;
}

/** GASpecificConfig() (§4.4.1); returns the PCE channel count when channelConfiguration is 0. */
function readGaSpecificConfig(r: BitReader, aot: number, channelConfig: number): number | undefined {
  r.skipBits(1); // frameLengthFlag
  if (r.readBool()) r.skipBits(14); // dependsOnCoreCoder -> coreCoderDelay
  const extensionFlag = r.readBool();
  const pceChannels = channelConfig === 0 ? readPceChannels(r) : undefined;
  if (aot === 6 || aot === 20) r.skipBits(3); // layerNr
  if (extensionFlag) {
    if (aot === 22) r.skipBits(16); // numOfSubFrame, layer_length
    if (aot === 17 || aot === 19 || aot === 20 || aot === 23) r.skipBits(3); // resilience flags
    r.skipBits(1); // extensionFlag3
  }
  return pceChannels;
}

const GA_OBJECT_TYPES = new Set([1, 2, 3, 4, 6, 7, 17, 19, 20, 21, 22, 23]);

export function parseAudioSpecificConfig(buf: Buffer): AudioSpecificConfig {
  if (buf.length < 2) throw bad(`too short (${buf.length} bytes)`);
  const r = new BitReader(buf);
  let objectType = readObjectType(r);
  if (objectType === 0) throw bad('audioObjectType 0 (null object)');
  const core = readSampleRate(r);
  const channelConfig = r.readBits(4);
  let sbr = false;
  let ps = false;
  let sampleRate = core.rate;
  if (objectType === 5 || objectType === 29) {
    // Explicit hierarchical SBR/PS signalling (§1.6.5.2).
    sbr = true;
    ps = objectType === 29;
    sampleRate = readSampleRate(r).rate;
    objectType = readObjectType(r);
    if (objectType === 22) r.skipBits(4); // extensionChannelConfiguration
  }
  let channels = CHANNELS_BY_CONFIG[channelConfig];
  if (channelConfig !== 0 && channels === undefined) {
    throw bad(`reserved channelConfiguration ${channelConfig}`);
  }
  if (GA_OBJECT_TYPES.has(objectType)) {
    const pce = readGaSpecificConfig(r, objectType, channelConfig);
    if (pce !== undefined) channels = pce;
    if (!sbr && channelConfig !== 0) {
      const ext = readSyncExtension(r);
      if (ext) {
        sbr = true;
        ps = ext.ps;
        sampleRate = ext.rate;
      }
    }
  }
  if (channels === undefined || channels === 0) throw bad('no channels');
  if (ps && channels === 1) channels = 2;
  return {
    objectType,
    samplingIndex: core.index,
    coreSampleRate: core.rate,
    sampleRate,
    channels,
    channelConfig,
    sbr,
    ps,
  };
}

/** Backward-compatible (implicit) SBR/PS signalling after the core config (§1.6.2.1, syncExtensionType). */
function readSyncExtension(r: BitReader): { rate: number; ps: boolean } | undefined {
  if (r.bitsLeft() < 16 || r.readBits(11) !== 0x2b7) return undefined;
  if (readObjectType(r) !== 5) return undefined;
  if (!r.readBool()) return undefined; // sbrPresentFlag
  const rate = readSampleRate(r).rate;
  const ps = r.bitsLeft() >= 12 && r.readBits(11) === 0x548 && r.readBool();
  return { rate, ps };
}

/**
 * RFC 6381 codec string: `mp4a.40.2` (LC), `mp4a.40.5` (HE-AAC), `mp4a.40.29` (HE-AAC v2).
 */
export function aacCodecString(cfg: Pick<AudioSpecificConfig, 'objectType' | 'sbr' | 'ps'>): string {
  const aot = cfg.ps ? 29 : cfg.sbr ? 5 : cfg.objectType;
  return `mp4a.40.${aot}`;
}
