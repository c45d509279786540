// Deterministic, fast, non-cryptographic hashing for sharding and holdout draws.
// FNV-1a 32-bit followed by a murmur3 finalizer for a well-spread low-order distribution.
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export function shardOf(customerId: string, shards: number): number {
  return hash32(customerId) % shards;
}

/** A uniform draw in [0, 1) fixed by its parts: same inputs, same draw, on every runtime. */
export function unitDraw(...parts: string[]): number {
  return hash32(parts.join("#")) / 0x1_0000_0000;
}
