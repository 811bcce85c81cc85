/** AMF0 / AMF3 codecs (pure: no I/O). */
export { Amf0Marker, decodeAmf0, decodeAmf0Value, encodeAmf0 } from './amf0.js';
export { Amf3Marker, decodeAmf3, decodeAmf3Value, encodeAmf3 } from './amf3.js';
export {
  type AmfDecodeOptions,
  type AmfDecodeResult,
  type AmfLimits,
  type AmfObject,
  type AmfValue,
  DEFAULT_AMF_LIMITS,
  EcmaArray,
} from './types.js';
