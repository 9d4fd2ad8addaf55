/**
 * Gallery: the people enrolled for face identification, each with the embeddings of the photos they were
 * enrolled from. Kept in memory and persisted as one JSON file, `<INFERD_DATA_DIR>/gallery.json`, written
 * crash-safely: a temporary file in the same folder, fsynced, then renamed over the old one, so a crash leaves
 * either the old gallery or the new one, never half of one.
 */
import { FileSystem, HttpApiSchema, Path } from "@effect/platform"
import { Config, Context, DateTime, Effect, Layer, Ref, Schema, SynchronizedRef } from "effect"
import * as AtomicFile from "../AtomicFile.js"
import * as SharedConfig from "./SharedConfig.js"

/** A person id that is not 1–64 of `A-Z a-z 0-9 . _ -` (it names a URL path segment). */
export class InvalidPersonId extends Schema.TaggedError<InvalidPersonId>()(
  "InvalidPersonId",
  { message: Schema.String, personId: Schema.String },
  HttpApiSchema.annotations({ status: 400 })
) {}

/** No one is enrolled under this id. */
export class PersonNotFound extends Schema.TaggedError<PersonNotFound>()(
  "PersonNotFound",
  { message: Schema.String, personId: Schema.String },
  HttpApiSchema.annotations({ status: 404 })
) {}

/** The gallery file could not be written (disk full, permissions): the change was not made. */
export class GalleryStorageFailed extends Schema.TaggedError<GalleryStorageFailed>()(
  "GalleryStorageFailed",
  { message: Schema.String },
  HttpApiSchema.annotations({ status: 500 })
) {}

/** A person as the API shows them: how many photos they were enrolled from, and when. */
export const PersonSummary = Schema.Struct({ personId: Schema.String, photos: Schema.Number, enrolledAt: Schema.String }).annotations({ identifier: "PersonSummary" })
export type PersonSummary = typeof PersonSummary.Type

export const Match = Schema.Struct({ personId: Schema.String, similarity: Schema.Number })
export type Match = typeof Match.Type

/** One embedding per enrolment photo. */
const Person = Schema.Struct({
  personId: Schema.String,
  embeddings: Schema.Array(Schema.Array(Schema.Number)),
  enrolledAt: Schema.String
})
type Person = typeof Person.Type

/**
 * What `gallery.json` holds. People are a list, not an object keyed by id: `__proto__` is a valid id. Version 2
 * holds embeddings of faces aligned from landmarks; version 1's came from unaligned crops and do not compare
 * with them.
 */
const Snapshot = Schema.Struct({ version: Schema.Literal(2), people: Schema.Array(Person) })
type Snapshot = typeof Snapshot.Type
const SnapshotJson = Schema.parseJson(Snapshot)
const Version1Json = Schema.parseJson(Schema.Struct({ version: Schema.Literal(1), people: Schema.Array(Schema.Struct({ personId: Schema.String })) }))
const empty: Snapshot = { version: 2, people: [] }

export interface GalleryService {
  /** The default cosine similarity for a match (`INFERD_FACE_MATCH_THRESHOLD`). */
  readonly threshold: number
  /** Enrolls `personId` with one embedding per photo, replacing any they had (PUT semantics). */
  readonly enroll: (
    personId: string,
    embeddings: ReadonlyArray<ReadonlyArray<number>>
  ) => Effect.Effect<PersonSummary, InvalidPersonId | GalleryStorageFailed>
  readonly list: Effect.Effect<ReadonlyArray<PersonSummary>>
  readonly get: (personId: string) => Effect.Effect<PersonSummary, InvalidPersonId | PersonNotFound>
  readonly remove: (personId: string) => Effect.Effect<void, InvalidPersonId | PersonNotFound | GalleryStorageFailed>
  /**
   * The enrolled person whose mean embedding is most similar to `embedding`, or null when no one reaches
   * `threshold` (default: the service's): an unknown face is nobody, not the nearest person.
   */
  readonly identify: (embedding: ReadonlyArray<number>, threshold?: number) => Effect.Effect<Match | null>
}

export class Gallery extends Context.Tag("inferd/Gallery")<Gallery, GalleryService>() {}

/** What a person id may be: 1 to 64 of letters, digits, `.`, `_` and `-`. */
export const PERSON_ID = /^[A-Za-z0-9._-]{1,64}$/

/** Fails with InvalidPersonId unless `personId` is 1–64 of `A-Z a-z 0-9 . _ -`. */
export const validatePersonId = (personId: string): Effect.Effect<string, InvalidPersonId> =>
  PERSON_ID.test(personId) ? Effect.succeed(personId) : Effect.fail(new InvalidPersonId({
    message: `person id ${JSON.stringify(personId.slice(0, 80))} is not 1-64 characters of A-Z a-z 0-9 . _ -`,
    personId: personId.slice(0, 80)
  }))

const dot = (a: ReadonlyArray<number>, b: ReadonlyArray<number>) => a.reduce((sum, x, i) => sum + x * (b[i] ?? 0), 0)

/**
 * The normalised mean of unit embeddings: the person's centre, which `identify` compares against. Measured
 * against each person's best-matching photo (`node bench/faces-tuning.mjs`, leave one photo out), the mean kept
 * the right person as high and every wrong one lower.
 */
export const centroid = (embeddings: ReadonlyArray<ReadonlyArray<number>>): ReadonlyArray<number> => {
  if (embeddings.length === 0) return []
  const sum = embeddings[0]!.map((_, i) => embeddings.reduce((total, e) => total + (e[i] ?? 0), 0))
  const norm = Math.sqrt(dot(sum, sum)) || 1
  return sum.map((x) => x / norm)
}

/** Where the snapshot lives: `load` at start, `save` after each change. */
export interface Store {
  readonly load: Effect.Effect<Snapshot, GalleryStorageFailed>
  readonly save: (snapshot: Snapshot) => Effect.Effect<void, GalleryStorageFailed>
}

/** The people, and each one's centre. */
interface Index {
  readonly people: ReadonlyMap<string, Person>
  readonly centres: ReadonlyMap<string, ReadonlyArray<number>>
}

const index = (people: ReadonlyMap<string, Person>): Index => ({
  people,
  centres: new Map([...people.values()].map((p) => [p.personId, centroid(p.embeddings)]))
})

const summary = (p: Person): PersonSummary => ({ personId: p.personId, photos: p.embeddings.length, enrolledAt: p.enrolledAt })

const notFound = (personId: string) => new PersonNotFound({ message: `no one is enrolled as "${personId}"`, personId })

/**
 * The gallery over a store. A change runs inside the state's own lock: the new snapshot is saved and only
 * then becomes the state, so concurrent enrolls each see the others' changes and a failed save changes
 * nothing; readers never wait for it.
 */
export const makeWith = (store: Store, threshold: number) =>
  Effect.gen(function*() {
    const loaded = yield* store.load
    const state = yield* SynchronizedRef.make(index(new Map(loaded.people.map((p) => [p.personId, p]))))
    const change = <E>(f: (people: Map<string, Person>) => Effect.Effect<void, E>) =>
      SynchronizedRef.updateEffect(state, (current) =>
        Effect.gen(function*() {
          const next = new Map(current.people)
          yield* f(next)
          yield* store.save({ version: 2, people: [...next.values()] })
          return index(next)
        }))

    const enroll = Effect.fn("Gallery.enroll")(function*(personId: string, embeddings: ReadonlyArray<ReadonlyArray<number>>) {
      yield* validatePersonId(personId)
      const person = { personId, embeddings, enrolledAt: DateTime.formatIso(yield* DateTime.now) }
      yield* change((people) => Effect.sync(() => people.set(personId, person)))
      return summary(person)
    })

    const remove = Effect.fn("Gallery.remove")(function*(personId: string) {
      yield* validatePersonId(personId)
      yield* change((people) => people.delete(personId) ? Effect.void : Effect.fail(notFound(personId)))
    })

    const list = Effect.map(SynchronizedRef.get(state), ({ people }) =>
      [...people.values()].map(summary).sort((a, b) => a.personId.localeCompare(b.personId)))

    const get = (personId: string) =>
      Effect.flatMap(validatePersonId(personId), () =>
        Effect.flatMap(SynchronizedRef.get(state), ({ people }) => {
          const person = people.get(personId)
          return person === undefined ? Effect.fail(notFound(personId)) : Effect.succeed(summary(person))
        }))

    const identify = (embedding: ReadonlyArray<number>, atLeast = threshold) =>
      Effect.map(SynchronizedRef.get(state), ({ centres }) => {
        let best: Match | null = null
        for (const [personId, centre] of centres) {
          const similarity = dot(centre, embedding)
          if (best === null || similarity > best.similarity) best = { personId, similarity }
        }
        return best !== null && best.similarity >= atLeast ? { ...best, similarity: Math.round(best.similarity * 10_000) / 10_000 } : null
      })

    return Gallery.of({ threshold, enroll, list, get, remove, identify })
  })

const storageFailed = (what: string) => (cause: { readonly message: string }) =>
  new GalleryStorageFailed({ message: `${what}: ${cause.message}` })

/**
 * `<dir>/gallery.json` through a temporary file in the same folder. A temporary file left by a crash is
 * removed at load; a gallery file that does not parse is moved aside (kept, never overwritten) with an error
 * logged, and the gallery starts empty.
 */
export const fileStore = (dir: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const file = path.join(dir, "gallery.json")
    const temp = `${file}.tmp`
    const load = Effect.gen(function*() {
      yield* fs.makeDirectory(dir, { recursive: true })
      yield* fs.remove(temp, { force: true })
      if (!(yield* fs.exists(file))) return empty
      const text = yield* fs.readFileString(file)
      const decoded = Schema.decodeEither(SnapshotJson)(text)
      if (decoded._tag === "Right") return decoded.right
      const now = DateTime.toEpochMillis(yield* DateTime.now)
      const old = Schema.decodeOption(Version1Json)(text)
      if (old._tag === "Some") {
        const aside = `${file}.v1-${now}`
        yield* fs.rename(file, aside)
        const ids = old.value.people.map((p) => p.personId).join(", ")
        yield* Effect.logWarning(`the gallery file ${file} holds embeddings of unaligned faces, which do not compare with this version's; moved to ${aside}, starting empty: enroll again ${ids}`)
        return empty
      }
      const aside = `${file}.corrupt-${now}`
      yield* fs.rename(file, aside)
      yield* Effect.logError(`the gallery file ${file} does not parse; moved to ${aside}, starting empty: ${decoded.left.message}`)
      return empty
    }).pipe(Effect.mapError(storageFailed(`loading the gallery from ${file} failed`)))
    const atomic = yield* AtomicFile.make
    const save = (snapshot: Snapshot) =>
      atomic.writeBytes(file, temp, new TextEncoder().encode(Schema.encodeSync(SnapshotJson)(snapshot))).pipe(
        Effect.mapError(storageFailed(`saving the gallery to ${file} failed`))
      )
    return { load, save } satisfies Store
  })

export interface GalleryOptions {
  /** Folder holding `gallery.json`. */
  readonly dir: string
  /** See `GalleryService.threshold`. */
  readonly threshold: number
}

/** The gallery persisted under `options.dir`. */
export const make = (options: GalleryOptions) =>
  Effect.flatMap(fileStore(options.dir), (store) => makeWith(store, options.threshold))

/**
 * The default match threshold: the cosine similarity at which two faces are the same person. Calibrated on
 * every pair of faces in the shared photos (`node bench/faces-pairs.mjs`; the README has the distribution).
 */
export const DEFAULT_THRESHOLD = 0.48

/**
 * The configuration: `INFERD_DATA_DIR` (default `./var`) holds `gallery.json`; `INFERD_FACE_MATCH_THRESHOLD`
 * (default `DEFAULT_THRESHOLD`, 0–1) is the cosine at which a face is identified or two faces verified. Raise
 * it where a false match costs more than a missed one.
 */
export const config = Config.all({
  dir: SharedConfig.dataDir,
  threshold: Config.number("INFERD_FACE_MATCH_THRESHOLD").pipe(
    Config.validate({ message: "INFERD_FACE_MATCH_THRESHOLD must be between 0 and 1", validation: (t) => t >= 0 && t <= 1 }),
    Config.withDefault(DEFAULT_THRESHOLD),
    Config.withDescription("cosine similarity at which a face is identified as an enrolled person")
  )
})

/** The live gallery, configured by `config`. */
export const layer = Layer.effect(Gallery, Effect.flatMap(config, make))

/** An in-memory gallery (nothing persisted), optionally pre-filled, for tests of its callers. */
export const layerTest = (options: { readonly threshold?: number; readonly people?: Record<string, ReadonlyArray<ReadonlyArray<number>>> } = {}) =>
  Layer.effect(Gallery, Effect.gen(function*() {
    const people = Object.entries(options.people ?? {}).map(([personId, embeddings]) => ({ personId, embeddings, enrolledAt: "" }))
    const saved = yield* Ref.make<Snapshot>({ version: 2, people })
    return yield* makeWith({ load: Ref.get(saved), save: (snapshot) => Ref.set(saved, snapshot) }, options.threshold ?? DEFAULT_THRESHOLD)
  }))

