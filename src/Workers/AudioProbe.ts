/**
 * Reads what a compressed file's container says before anything is decoded: which codec, how long, and
 * whether it is whole. That refuses over-long audio without decoding it, and catches garbage the WASM
 * decoders would otherwise "decode" (mpg123 finds frames in random bytes) or cut short without a word.
 */
import { Either } from "effect"

/** What the container says about the audio inside. */
export interface Probe {
  readonly codec: "flac" | "vorbis" | "mp3"
  /** Channels as encoded (mpg123 always decodes to stereo, whatever the file holds). */
  readonly channels: number
  /** How long the container says the audio lasts, when it says. */
  readonly durationSec: number | undefined
  /**
   * Frames a FLAC file must decode to at least, from its STREAMINFO total less one block (audio-decode's
   * streaming FLAC decoder holds back the last block): fewer means the file is truncated.
   */
  readonly minFrames: number | undefined
}

const text = (b: Uint8Array, at: number, length: number) => String.fromCharCode(...b.subarray(at, at + length))
const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength)

/** FLAC: the STREAMINFO block, which the format requires first, holds the rate and the total frames. */
const flac = (b: Uint8Array): Either.Either<Probe, string> => {
  if (b.byteLength < 42 || (b[4] & 0x7f) !== 0 || view(b).getUint32(4) % 0x1000000 !== 34) {
    return Either.left("the FLAC stream does not start with a STREAMINFO block")
  }
  const sampleRate = (b[18] << 12) | (b[19] << 4) | (b[20] >> 4)
  if (sampleRate === 0) return Either.left("the FLAC stream declares a sample rate of 0")
  const total = (b[21] & 0x0f) * 2 ** 32 + view(b).getUint32(22)
  const maxBlock = view(b).getUint16(10)
  // 0 total frames means "unknown" in FLAC.
  return Either.right({
    codec: "flac",
    channels: ((b[20] >> 1) & 7) + 1,
    durationSec: total > 0 ? total / sampleRate : undefined,
    minFrames: total > 0 ? total - maxBlock : undefined
  })
}

/** One Ogg page's header at `at`: flags, granule position, and where the page ends (beyond `b` when cut). */
const oggPage = (b: Uint8Array, at: number) => {
  if (at + 27 > b.byteLength || text(b, at, 4) !== "OggS" || b[at + 4] !== 0) return undefined
  const segments = b[at + 26]
  let end = at + 27 + segments
  for (let i = 0; i < segments && at + 27 + i < b.byteLength; i++) end += b[at + 27 + i]
  const low = view(b).getUint32(at + 6, true)
  const high = view(b).getUint32(at + 10, true)
  // A granule of -1 means no packet ends on this page.
  const granule = low === 0xffffffff && high === 0xffffffff ? undefined : high * 2 ** 32 + low
  return { flags: b[at + 5], granule, payload: at + 27 + segments, end }
}

/** Ogg Vorbis: the first page names the codec and rate; the last page, flagged end-of-stream, holds the length. */
const ogg = (b: Uint8Array): Either.Either<Probe, string> => {
  const first = oggPage(b, 0)
  if (first === undefined || (first.flags & 0x02) === 0) return Either.left("the Ogg stream does not start with a beginning-of-stream page")
  const p = first.payload
  // audio-decode could route Opus to its Opus decoder, but no Opus file has been tested here yet.
  if (text(b, p, 8) === "OpusHead") return Either.left("Ogg Opus is not supported yet (Ogg Vorbis, FLAC, MP3 and WAV are)")
  if (text(b, p, 7) !== "\x01vorbis") return Either.left("the Ogg stream does not hold Vorbis audio")
  if (p + 16 > b.byteLength) return Either.left("the Ogg stream's identification header is cut short")
  const channels = b[p + 11]
  const rate = view(b).getUint32(p + 12, true)
  if (channels === 0 || rate === 0) return Either.left(`the Ogg stream declares ${channels} channels at ${rate} Hz`)
  const lastAt = Buffer.from(b.buffer, b.byteOffset, b.byteLength).lastIndexOf("OggS")
  const last = oggPage(b, lastAt)
  if (last === undefined || last.end > b.byteLength || (last.flags & 0x04) === 0) {
    return Either.left("the Ogg stream ends without its end-of-stream page (truncated)")
  }
  const durationSec = last.granule === undefined ? undefined : last.granule / rate
  return Either.right({ codec: "vorbis", channels, durationSec, minFrames: undefined })
}

// kbit/s by bitrate index (1..14) for [MPEG-1 L1, L2, L3, MPEG-2/2.5 L1, L2 and L3].
const BITRATES = [
  [32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448],
  [32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384],
  [32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
  [32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256],
  [8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160]
]
const RATES = [44_100, 48_000, 32_000]

/** An MPEG audio frame header at `at`: its stream identity (version, layer, rate), length and samples. */
const mpegFrame = (b: Uint8Array, at: number) => {
  if (at + 4 > b.byteLength || b[at] !== 0xff || (b[at + 1] & 0xe0) !== 0xe0) return undefined
  const version = (b[at + 1] >> 3) & 3 // 0: MPEG-2.5, 2: MPEG-2, 3: MPEG-1
  const layer = 4 - ((b[at + 1] >> 1) & 3) // 1..3; 4 is reserved
  const bitrateIndex = b[at + 2] >> 4
  const rateIndex = (b[at + 2] >> 2) & 3
  // Reserved values, and free-format bitrates whose frame length the header cannot tell.
  if (version === 1 || layer === 4 || bitrateIndex === 0 || bitrateIndex === 15 || rateIndex === 3) return undefined
  const mpeg1 = version === 3
  const kbps = BITRATES[mpeg1 ? layer - 1 : layer === 1 ? 3 : 4][bitrateIndex - 1]
  const sampleRate = RATES[rateIndex] / (mpeg1 ? 1 : version === 2 ? 2 : 4)
  const padding = (b[at + 2] >> 1) & 1
  const samples = layer === 1 ? 384 : layer === 3 && !mpeg1 ? 576 : 1152
  const length = layer === 1 ? (Math.floor(12_000 * kbps / sampleRate) + padding) * 4 : Math.floor(samples / 8 * 1000 * kbps / sampleRate) + padding
  // The protection bit may differ between frames of one stream; the rest may not.
  const channels = b[at + 3] >> 6 === 3 ? 1 : 2
  return { stream: (b[at + 1] & 0xfe) | (rateIndex << 8), sampleRate, channels, samples, length }
}

type MpegFrame = NonNullable<ReturnType<typeof mpegFrame>>

const isTag = (b: Uint8Array, at: number) => ["TAG", "APE", "LYR"].includes(text(b, at, 3))

/** A frame the next two frames follow directly (or the file ends): a real sync, not noise that looks like one. */
const locked = (b: Uint8Array, at: number) => {
  const frame = mpegFrame(b, at)
  if (frame === undefined) return undefined
  let next = at + frame.length
  for (let i = 0; i < 2 && next < b.byteLength && !isTag(b, next); i++) {
    const following = mpegFrame(b, next)
    if (following === undefined || following.stream !== frame.stream) return undefined
    next += following.length
  }
  return frame
}

/** MP3 (MPEG audio): walks every frame header, which is cheap and gives the exact length. */
const mp3 = (b: Uint8Array): Either.Either<Probe, string> => {
  // An ID3v2 tag: 10 bytes, a syncsafe size, 10 more with a footer.
  let at = text(b, 0, 3) === "ID3" && b.byteLength >= 10
    ? 10 + ((b[6] << 21) | (b[7] << 14) | (b[8] << 7) | b[9]) + (b[5] & 0x10 ? 10 : 0)
    : 0
  let samples = 0
  let junk = 0
  let sampleRate = 0
  let channels = 0
  let stream: number | undefined
  let synced = false
  while (at + 4 <= b.byteLength && !isTag(b, at)) {
    // After junk, only a locked frame resumes the stream.
    const frame: MpegFrame | undefined = synced ? mpegFrame(b, at) : locked(b, at)
    synced = frame !== undefined && (stream === undefined || frame.stream === stream)
    if (frame === undefined || !synced) {
      junk++
      at++
      continue
    }
    stream = frame.stream
    sampleRate = frame.sampleRate
    channels = frame.channels
    samples += frame.samples
    at += frame.length
  }
  if (samples === 0) return Either.left("no MPEG audio frames were found")
  if (junk > b.byteLength / 2) return Either.left(`most of the file (${junk} of ${b.byteLength} bytes) is not MPEG audio`)
  return Either.right({ codec: "mp3", channels, durationSec: samples / sampleRate, minFrames: undefined })
}

/** Reads the container of a FLAC, Ogg Vorbis or MP3 file (by magic bytes); WAV is read by Wav.ts. */
export const probe = (b: Uint8Array): Either.Either<Probe, string> => {
  if (text(b, 0, 4) === "fLaC") return flac(b)
  if (text(b, 0, 4) === "OggS") return ogg(b)
  // The same test as the upload's sniffing: an ID3v2 tag or 11 sync bits.
  if (text(b, 0, 3) === "ID3" || (b[0] === 0xff && (b[1] & 0xe0) === 0xe0)) return mp3(b)
  return Either.left("it is not WAV, FLAC, Ogg Vorbis or MP3 (unrecognised file signature)")
}
