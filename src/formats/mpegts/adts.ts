/**
 * ADTS framing for raw AAC frames (ISO/IEC 13818-7 §6.2 / ISO/IEC 14496-3 §1.A.2.2, adts_fixed_header +
 * adts_variable_header). MPEG-TS carries AAC as stream_type 0x0F, "ISO/IEC 13818-7 Audio with ADTS
 * transport syntax" (ISO/IEC 13818-1 §2.4.4.9, Table 2-34), so every frame needs this 7-byte header.
 */
import { TidecastError } from '../../errors.js';
import type { AudioSpecificConfig } from '../../media/codecs/aac.js';

/** Header length without CRC (protection_absent = 1). */
export const ADTS_HEADER_SIZE = 7;
/** aac_frame_length is 13 bits and counts the header too. */
export const ADTS_MAX_FRAME_SIZE = 0x1fff;

/**
 * The fields of a parsed AudioSpecificConfig that ADTS needs. For HE-AAC (v1/v2) `parseAudioSpecificConfig`
 * already reports the LC core (objectType 2, core samplingIndex, core channelConfig), which is exactly what
 * ADTS must carry: the decoder finds SBR/PS implicitly.
 */
export type AdtsInfo = Pick<AudioSpecificConfig, 'objectType' | 'samplingIndex' | 'channelConfig'>;

/** Throws CODEC_BAD_CONFIG when the configuration cannot be expressed in an ADTS header. */
export function checkAdtsInfo(info: AdtsInfo): void {
  // profile_ObjectType is 2 bits = audioObjectType - 1: only Main (1), LC (2), SSR (3) and LTP (4) fit.
  if (info.objectType < 1 || info.objectType > 4) {
    throw new TidecastError('CODEC_BAD_CONFIG', `ADTS: audioObjectType ${info.objectType} not representable`);
  }
  // sampling_frequency_index 15 (explicit frequency) has no ADTS form; 13 and 14 are reserved.
  if (info.samplingIndex < 0 || info.samplingIndex > 12) {
    throw new TidecastError('CODEC_BAD_CONFIG', `ADTS: samplingFrequencyIndex ${info.samplingIndex}`);
  }
  if (info.channelConfig < 0 || info.channelConfig > 7) {
    throw new TidecastError('CODEC_BAD_CONFIG', `ADTS: channelConfiguration ${info.channelConfig}`);
  }
}

/**
 * Writes the 7-byte ADTS header for one raw_data_block of `payloadLength` bytes into `out` at `offset`
 * (or a fresh buffer). Fields, MSB first:
 * syncword 0xFFF (12) | ID 0 = MPEG-4 (1) | layer 00 (2) | protection_absent 1 (1) | profile (2) |
 * sampling_frequency_index (4) | private 0 (1) | channel_configuration (3) | original/copy 0 (1) | home 0 (1) |
 * copyright id bit/start 0 (2) | aac_frame_length (13) | adts_buffer_fullness 0x7FF = VBR (11) |
 * number_of_raw_data_blocks_in_frame 0 = one block (2).
 */
export function adtsHeader(info: AdtsInfo, payloadLength: number, out?: Buffer, offset = 0): Buffer {
  checkAdtsInfo(info);
  const frameLength = payloadLength + ADTS_HEADER_SIZE;
  if (payloadLength < 0 || frameLength > ADTS_MAX_FRAME_SIZE) {
    throw new TidecastError('CODEC_BAD_CONFIG', `ADTS: AAC frame of ${payloadLength} bytes is too large`);
  }
  const b = out ?? Buffer.alloc(ADTS_HEADER_SIZE);
  const o = out ? offset : 0;
  const profile = info.objectType - 1;
  const ch = info.channelConfig;
  b[o] = 0xff;
  b[o + 1] = 0xf1; // sync low nibble, ID 0, layer 00, protection_absent 1
  b[o + 2] = (profile << 6) | (info.samplingIndex << 2) | (ch >> 2);
  b[o + 3] = ((ch & 0x03) << 6) | (frameLength >> 11);
  b[o + 4] = (frameLength >> 3) & 0xff;
  b[o + 5] = ((frameLength & 0x07) << 5) | 0x1f; // + top 5 bits of buffer fullness 0x7FF
  b[o + 6] = 0xfc; // low 6 bits of buffer fullness, 0 extra raw data blocks
  return b;
}
