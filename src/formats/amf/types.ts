/**
 * Value model shared by the AMF0 and AMF3 codecs (AMF0 spec §2, AMF3 spec §3).
 *
 * Decoding maps wire types onto plain JavaScript values:
 * number/integer/double → number, boolean, string/long string/XML → string, null, undefined,
 * date → Date, strict/dense arrays and vectors → AmfValue[], objects/typed objects/ECMA arrays → AmfObject,
 * AMF3 ByteArray → Buffer. `EcmaArray` only matters when encoding AMF0 (marker 0x08), or when decoding with
 * `keepEcmaArrays`.
 */
export type AmfValue =
  | number
  | boolean
  | string
  | null
  | undefined
  | Date
  | AmfValue[]
  | AmfObject
  | EcmaArray
  | Buffer;

export interface AmfObject {
  [key: string]: AmfValue;
}

/** An AMF0 ECMA (associative) array (AMF0 spec §2.10); `encodeAmf0` writes it with marker 0x08. */
export class EcmaArray {
  constructor(public readonly entries: AmfObject) {}
}

/** Named limits for the decoders; every length, count and nesting level is checked against one of these. */
export interface AmfLimits {
  /** Most nested containers (objects, arrays, vectors, dictionaries), also counting through references. */
  maxDepth: number;
  /** Largest string, XML document or ByteArray, in bytes. */
  maxStringBytes: number;
  /**
   * Most values in one decode call (each container, entry and scalar counts once; a value reached through
   * a reference counts again with its whole subtree, so shared sub-graphs cannot blow up a tree walk).
   * Also caps every single count field.
   */
  maxItems: number;
}

export const DEFAULT_AMF_LIMITS: Readonly<AmfLimits> = Object.freeze({
  maxDepth: 32,
  maxStringBytes: 1024 * 1024,
  maxItems: 65536,
});

/** Decoder options that are not limits. */
export interface AmfDecodeOptions {
  /** Return AMF0 ECMA arrays as `EcmaArray` instances instead of plain objects (default false). */
  keepEcmaArrays?: boolean;
}

/** A decoded value and the offset just past it. */
export interface AmfDecodeResult {
  value: AmfValue;
  offset: number;
}
