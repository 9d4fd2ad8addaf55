/**
 * The gallery group's handlers: enrolment embeds the largest face of each uploaded photo on the pool, then
 * stores the embeddings in the Gallery (one crash-safe JSON file).
 */
import type { HttpApiBuilder } from "@effect/platform"
import type { ApiError } from "./Api.js"
import { Effect } from "effect"
import { Gallery, validatePersonId } from "../Layers/Gallery.js"
import { WorkerPool } from "../Pool/WorkerPool.js"
import type { GalleryApi } from "./FacesApi.js"
import { allSettled, largestFace } from "./FacesHandlers.js"
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
          const embeddings = yield* allSettled(files.map((file) => largestFace(pool, file, urlParams)))
          return yield* gallery.enroll(path.personId, embeddings)
        }).pipe(Effect.withSpan("gallery.enroll")))
      .handle("list", () => Effect.map(gallery.list, (people) => ({ people })))
      .handle("remove", ({ path }) => gallery.remove(path.personId).pipe(Effect.withSpan("gallery.remove")))
  })
