/** A server cookie secret as the configuration gives it (RFC 9018 §4.1: 128 bits), read apart from src/abuse/cookies.ts so the configuration does not load SipHash. */

/** 32 hexadecimal digits as a 16-octet secret, or a string saying what is wrong. */
export function parseSecret(hex: string): Uint8Array | string {
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) return `"${hex}" is not a cookie secret: give 128 bits as 32 hexadecimal digits (e.g. from: openssl rand -hex 16)`;
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}
