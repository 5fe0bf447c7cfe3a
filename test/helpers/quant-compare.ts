/**
 * Byte and float comparisons that report like gguf-py's test_quants.py: how many blocks differ,
 * the worst block, and which bits differ, instead of a bare "not equal".
 */

/** Describes where two byte buffers differ, block by block; '' when equal. */
export function diffBlocks(a: Uint8Array, b: Uint8Array, blockBytes: number): string {
  if (a.byteLength !== b.byteLength) return `lengths differ: ${a.byteLength} vs ${b.byteLength}`;
  const bb = blockBytes > 0 ? blockBytes : a.byteLength || 1;
  let bad = 0, worst = -1, worstBits = 0, first = -1;
  for (let o = 0; o < a.byteLength; o += bb) {
    let bits = 0;
    for (let i = o; i < Math.min(o + bb, a.byteLength); i++) {
      let x = a[i]! ^ b[i]!;
      while (x) { bits += x & 1; x >>= 1; }
    }
    if (bits) {
      bad++;
      if (first < 0) first = o / bb;
      if (bits > worstBits) { worstBits = bits; worst = o / bb; }
    }
  }
  if (!bad) return '';
  const w = worst * bb;
  const hex = (u: Uint8Array): string => Buffer.from(u.subarray(w, w + Math.min(bb, 48))).toString('hex');
  return `${bad} of ${Math.ceil(a.byteLength / bb)} blocks differ (first ${first}); worst block ${worst} has ${worstBits} differing bits:\n  a ${hex(a)}\n  b ${hex(b)}`;
}

/** Describes where two float arrays differ bit-wise; '' when identical bits. */
export function diffFloats(a: Float32Array, b: Float32Array, blockSize: number): string {
  if (a.length !== b.length) return `lengths differ: ${a.length} vs ${b.length}`;
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length), ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  let bad = 0, first = -1;
  for (let i = 0; i < ua.length; i++) {
    if (ua[i] !== ub[i]) {
      bad++;
      if (first < 0) first = i;
    }
  }
  if (!bad) return '';
  return `${bad} of ${a.length} values differ; first at ${first} (block ${Math.floor(first / (blockSize || a.length))}): ${a[first]} vs ${b[first]}`;
}

/** A Uint8Array view of a Float32Array's bytes. */
export function bytesOf(x: Float32Array): Uint8Array {
  return new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
}
