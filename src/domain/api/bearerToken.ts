/** The token of an `Authorization: Bearer <token>` header, or "" when there is none. */
export const bearerToken = (authorization: string | undefined) =>
  authorization?.startsWith("Bearer ") ? authorization.slice(7).trim() : ""
