import { HttpRouter, HttpServerResponse } from "effect/http"

/** Anything no other route claims: a 404 in the JSON error body, not an empty one. */
export const NotFoundRoute = HttpRouter.add(
  "*",
  "*",
  HttpServerResponse.jsonUnsafe({ error: { code: "not_found", message: "no such route" } }, { status: 404 })
)
