/** Type declaration for the siphash package (SipHash-2-4 by Frank Denis), which ships no typings. */

declare module 'siphash' {
  /** A 64-bit value as its high and low 32-bit halves (unsigned). */
  interface U64 {
    h: number;
    l: number;
  }
  const SipHash: {
    /** SipHash-2-4 of `message` under `key` (128 bits as four little-endian 32-bit words). */
    hash(key: Uint32Array, message: Uint8Array): U64;
  };
  export default SipHash;
}
