/**
 * Veovera Enhanced FLV vectors (AV1 + Opus, E-RTMP ExVideoTagHeader / ExAudioTagHeader), read from
 * the shared checkout beside the project (../shared/vectors/enhanced-flv, see its README).
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAv1Config } from '../../media/codecs/av1.js';
import { parseOpusHead } from '../../media/codecs/opus.js';
import { FlvReader } from './flv-reader.js';
import { AudioPacketType, parseAudioTagBody, parseVideoTagBody, VideoPacketType } from './tag-body.js';

const DIR = new URL('../../../../shared/vectors/enhanced-flv/', import.meta.url);

/** Expected values; width/height as in each file's onMetaData, tag counts from a plain walk of the file. */
const VECTORS = [
  { file: 'testsrc.flv', tags: 807, width: 980, height: 540, av1Profile: 1 },
  { file: 'mptestsrc.flv', tags: 849, width: 512, height: 512, av1Profile: 0 },
];

describe.skipIf(!existsSync(DIR))('Veovera enhanced-flv vectors', () => {
  for (const v of VECTORS) {
    it(`${v.file}: every tag parses and carries the expected E-RTMP packets`, () => {
      const reader = new FlvReader();
      const tags = reader.push(readFileSync(new URL(v.file, DIR)));
      reader.end();
      expect(reader.header).toEqual({ audio: true, video: true });
      expect(tags).toHaveLength(v.tags);
      expect(reader.prevTagSizeMismatches).toBe(0);
      expect(tags[0].type).toBe(18);

      const videoSeq: Buffer[] = [];
      const opusHeads: Buffer[] = [];
      let metadata = 0;
      let keyframes = 0;
      let interFrames = 0;
      let audioFrames = 0;
      let multichannel: unknown;
      const lastTs = { 8: 0, 9: 0 } as Record<number, number>;
      for (const tag of tags) {
        if (tag.type === 8 || tag.type === 9) {
          expect(tag.timestamp).toBeGreaterThanOrEqual(lastTs[tag.type]);
          lastTs[tag.type] = tag.timestamp;
        }
        if (tag.type === 9) {
          const info = parseVideoTagBody(tag.body);
          expect(info).toMatchObject({
            enhanced: true,
            codec: 'av01',
            multitrack: false,
            compositionTime: 0,
          });
          const data = tag.body.subarray(info.dataOffset, info.dataOffset + info.dataLength);
          if (info.isSequenceHeader) videoSeq.push(data);
          else if (info.isMetadata) {
            metadata++;
            expect(data.includes(Buffer.from('colorInfo'))).toBe(true);
          } else if (info.packetType === VideoPacketType.CodedFrames) {
            if (info.keyframe) keyframes++;
            else interFrames++;
            expect(data.length).toBeGreaterThan(0);
          }
        } else if (tag.type === 8) {
          const info = parseAudioTagBody(tag.body);
          expect(info).toMatchObject({ enhanced: true, codec: 'Opus', soundFormat: 9 });
          const data = tag.body.subarray(info.dataOffset, info.dataOffset + info.dataLength);
          if (info.isSequenceHeader) opusHeads.push(data);
          else if (info.packetType === AudioPacketType.MultichannelConfig) multichannel = info.multichannel;
          else if (info.packetType === AudioPacketType.CodedFrames) audioFrames++;
        }
      }
      // An empty SequenceStart at ts 0, then the real av1C just before the first frame.
      expect(videoSeq.map((b) => b.length > 0)).toEqual([false, true]);
      const av1 = parseAv1Config(videoSeq[1]);
      expect(av1).toMatchObject({ profile: v.av1Profile, bitDepth: 8, width: v.width, height: v.height });
      expect(metadata).toBe(1);
      expect(keyframes).toBeGreaterThanOrEqual(1);
      expect(interFrames).toBeGreaterThan(100);
      expect(opusHeads).toHaveLength(1);
      expect(parseOpusHead(opusHeads[0])).toMatchObject({
        channels: 1,
        preSkip: 312,
        inputSampleRate: 48000,
      });
      // MultichannelConfig: native order, 1 channel, mask FrontCenter (0x4).
      expect(multichannel).toEqual({ order: 1, channels: 1, mask: 4 });
      expect(audioFrames).toBe(501);
    });
  }
});
