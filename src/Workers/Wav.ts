/**
 * A RIFF/WAVE reader for every PCM form (8-bit unsigned, 16/24/32-bit integer, 32/64-bit float, plain or
 * WAVE_FORMAT_EXTENSIBLE). Written here rather than taken from node-wav, which reads no EXTENSIBLE header,
 * misreads the most negative 24-bit sample, needs aligned data and allocates whatever size the header claims.
 * The header is read first and on its own, and only the bytes the file holds count: a data chunk whose size
 * runs past the end (the 0xFFFFFFFF or 0x7FFFF000 placeholders that ffmpeg, sox and recorders write when
 * streaming, or a file cut short) is read up to its last whole frame, as ffmpeg and sox read it, so nothing
 * is allocated for what a header merely claims.
 */
import { Either } from "effect"

/** What the header says: enough to know the duration and how to read the samples. */
export interface WavHeader {
  readonly sampleRate: number
  readonly channels: number
  readonly bitsPerSample: number
  readonly float: boolean
  readonly blockAlign: number
  /** Whole frames the file holds, whatever the data chunk's size claims. */
  readonly frames: number
  readonly dataOffset: number
}

const PCM = 0x0001
const FLOAT = 0x0003
const EXTENSIBLE = 0xfffe
// The tail every KSDATAFORMAT_SUBTYPE GUID shares after its two-byte format tag.
const GUID_TAIL = [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71]
const MAX_CHANNELS = 64

const ascii = (view: DataView, at: number) =>
  String.fromCharCode(view.getUint8(at), view.getUint8(at + 1), view.getUint8(at + 2), view.getUint8(at + 3))

const readFormat = (view: DataView, at: number, size: number): Either.Either<Omit<WavHeader, "frames" | "dataOffset">, string> => {
  if (size < 16 || at + 16 > view.byteLength) return Either.left("its \"fmt \" chunk is too short")
  let tag = view.getUint16(at, true)
  if (tag === EXTENSIBLE) {
    if (size < 40 || at + 40 > view.byteLength) return Either.left("its WAVE_FORMAT_EXTENSIBLE header is too short")
    tag = view.getUint16(at + 24, true)
    if (GUID_TAIL.some((byte, i) => view.getUint8(at + 26 + i) !== byte)) return Either.left("its WAVE_FORMAT_EXTENSIBLE sub-format is not PCM or float")
  }
  const channels = view.getUint16(at + 2, true)
  const sampleRate = view.getUint32(at + 4, true)
  const blockAlign = view.getUint16(at + 12, true)
  const bitsPerSample = view.getUint16(at + 14, true)
  if (tag !== PCM && tag !== FLOAT) return Either.left(`its encoding (format tag 0x${tag.toString(16).padStart(4, "0")}) is not PCM or float`)
  if (channels === 0) return Either.left("it declares 0 channels")
  if (channels > MAX_CHANNELS) return Either.left(`it declares ${channels} channels (at most ${MAX_CHANNELS})`)
  if (sampleRate === 0) return Either.left("it declares a sample rate of 0")
  const float = tag === FLOAT
  const supported = float ? [32, 64] : [8, 16, 24, 32]
  if (!supported.includes(bitsPerSample)) {
    return Either.left(`${bitsPerSample}-bit ${float ? "float" : "integer"} samples are not supported (${supported.join(", ")} are)`)
  }
  if (blockAlign !== channels * bitsPerSample / 8) {
    return Either.left(`its block size ${blockAlign} does not match ${channels} channels of ${bitsPerSample} bits`)
  }
  return Either.right({ sampleRate, channels, bitsPerSample, float, blockAlign })
}

/** Reads the header and finds the data chunk; reads no sample. */
export const readHeader = (bytes: Uint8Array): Either.Either<WavHeader, string> => {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (bytes.byteLength < 12 || ascii(view, 0) !== "RIFF" || ascii(view, 8) !== "WAVE") return Either.left("it is not a RIFF/WAVE file")
  let format: ReturnType<typeof readFormat> | undefined
  let at = 12
  while (at + 8 <= bytes.byteLength) {
    const id = ascii(view, at)
    const size = view.getUint32(at + 4, true)
    if (id === "fmt ") format = readFormat(view, at + 8, size)
    if (id === "data") {
      if (format === undefined) return Either.left("its data chunk comes before any \"fmt \" chunk")
      const present = Math.min(size, bytes.byteLength - (at + 8))
      return Either.map(format, (fmt) => ({ ...fmt, frames: Math.floor(present / fmt.blockAlign), dataOffset: at + 8 }))
    }
    // Chunks are padded to an even size.
    at += 8 + size + (size & 1)
  }
  return Either.left("it has no data chunk (truncated?)")
}

type Reader = (view: DataView, at: number) => number

// Integer PCM is scaled by 2^(bits-1), as libsndfile and ffmpeg do, so full scale negative is exactly -1.
const readers: Record<string, Reader> = {
  "8": (view, at) => (view.getUint8(at) - 128) / 128,
  "16": (view, at) => view.getInt16(at, true) / 32768,
  "24": (view, at) => ((view.getUint8(at) | (view.getUint8(at + 1) << 8) | (view.getInt8(at + 2) << 16))) / 8388608,
  "32": (view, at) => view.getInt32(at, true) / 2147483648,
  "32f": (view, at) => view.getFloat32(at, true),
  "64f": (view, at) => view.getFloat64(at, true)
}

/**
 * The samples of a header's data chunk, every frame's channels averaged into one. Non-finite float samples
 * (NaN, ±Infinity) become 0, so they cannot poison the model or the levels.
 */
export const readMono = (bytes: Uint8Array, header: WavHeader): Float32Array => {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const read = readers[`${header.bitsPerSample}${header.float ? "f" : ""}`]
  const step = header.bitsPerSample / 8
  const mono = new Float32Array(header.frames)
  for (let frame = 0; frame < header.frames; frame++) {
    const base = header.dataOffset + frame * header.blockAlign
    let sum = 0
    for (let channel = 0; channel < header.channels; channel++) sum += read(view, base + channel * step)
    const value = sum / header.channels
    mono[frame] = Number.isFinite(value) ? value : 0
  }
  return mono
}
