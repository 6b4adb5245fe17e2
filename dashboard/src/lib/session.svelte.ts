import type { Principal } from "./api.ts"

/** Who is signed in: `undefined` until the first check, `null` when nobody is. */
export const session = $state<{ user: Principal | null | undefined }>({ user: undefined })
