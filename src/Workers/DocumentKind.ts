/** Which uploads hold several pages, by their signature alone: both sides of the thread boundary ask. */

/** PDF's signature, which readers accept anywhere in the first kilobyte. */
export const isPdf = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, 1024)).includes("%PDF-")

/** TIFF's, little- or big-endian. */
export const isTiff = (bytes: Uint8Array) =>
  bytes.byteLength >= 4 &&
  ((bytes[0] === 0x49 && bytes[1] === 0x49 && bytes[2] === 0x2a && bytes[3] === 0) || (bytes[0] === 0x4d && bytes[1] === 0x4d && bytes[2] === 0 && bytes[3] === 0x2a))
