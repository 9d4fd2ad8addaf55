/**
 * Where the daemon listens (`HOST`, default 127.0.0.1; `PORT`, default 8080), and a check that it can: the
 * daemon runs it before anything else, so a second `inferd serve` on a port in use stops at once, before it
 * starts a loop or touches the data folder the first one owns.
 */
import { Config, Data, Effect } from "effect"
import { createServer } from "node:net"

export const config = Config.all({
  host: Config.string("HOST").pipe(Config.withDefault("127.0.0.1")),
  port: Config.port("PORT").pipe(Config.withDefault(8080))
})

export class AddressUnavailable extends Data.TaggedError("AddressUnavailable")<{
  readonly message: string
  readonly host: string
  readonly port: number
}> {}

/** Binds the address for a moment and lets it go; fails when another process holds it. */
export const check = (address: { readonly host: string; readonly port: number }) =>
  Effect.async<void, AddressUnavailable>((resume) => {
    const server = createServer()
    server.once("error", (error: NodeJS.ErrnoException) =>
      resume(Effect.fail(new AddressUnavailable({
        message: error.code === "EADDRINUSE"
          ? `${address.host}:${address.port} is already in use (another inferd?): set PORT or stop the other process`
          : `cannot listen on ${address.host}:${address.port}: ${error.message}`,
        ...address
      }))))
    server.listen(address.port, address.host, () => server.close(() => resume(Effect.void)))
  })
