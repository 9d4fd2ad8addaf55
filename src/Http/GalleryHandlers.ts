/**
 * The gallery group's handlers: enrolment embeds the face of each uploaded photo on the pool (the only one,
 * or the largest with `face=largest`), then stores one embedding per photo in the Gallery (one crash-safe
 * JSON file).
 */
import type { HttpApiBuilder } from "@effect/platform"
import type { ApiError } from "./Api.js"
import { Effect } from "effect"
import { Gallery, validatePersonId } from "../Layers/Gallery.js"
import { WorkerPool } from "../Pool/WorkerPool.js"
import type { GalleryApi } from "./FacesApi.js"
import { allSettled, enrolmentFace, shown } from "./FacesHandlers.js"
import { asyncNotOffered } from "./JobsHandlers.js"
import * as Media from "./Media.js"
import { Upload } from "./Upload.js"

/**
 * The group's handlers, for `HttpApiBuilder.group(api, "gallery", build)` on any API holding `GalleryApi`.
 * Needs WorkerPool, Upload and Gallery.
 */
export const build = (handlers: HttpApiBuilder.Handlers.FromGroup<ApiError, never, typeof GalleryApi>) =>
  Effect.gen(function*() {
    const pool = yield* WorkerPool
    const upload = yield* Upload
    const gallery = yield* Gallery

    return handlers
      .handle("enroll", ({ path, urlParams }) =>
        Effect.gen(function*() {
          // Before the upload is read: a bad id costs no inference.
          if (urlParams.async === true) return yield* asyncNotOffered("PUT /v1/gallery/{personId}")
          yield* validatePersonId(path.personId)
          const files = yield* upload.all(Media.image)
          const found = yield* allSettled(files.map((file) => enrolmentFace(pool, file, urlParams, urlParams.face)))
          const person = yield* gallery.enroll(path.personId, found.map(({ embedding }) => embedding))
          return { ...person, faces: found.map(({ face }, i) => ({ field: files[i]!.field, ...shown(face) })) }
        }).pipe(Effect.withSpan("gallery.enroll")))
      .handle("list", () => Effect.map(gallery.list, (people) => ({ people })))
      .handle("get", ({ path }) => gallery.get(path.personId))
      .handle("remove", ({ path }) => gallery.remove(path.personId).pipe(Effect.withSpan("gallery.remove")))
  })
