import { createServer } from "node:net"

/** A free TCP port on loopback: the OS picks one, and we release it at once for the caller to bind. */
export const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(
        () => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")))
      )
    })
  })
