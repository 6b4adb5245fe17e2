import { messageOf } from "./api.ts"

/**
 * What a page's buttons do, one at a time: `run` marks it busy, clears the last message, and
 * shows what the action answers (`done`) or why it failed (`error`); `after` (a reload) runs
 * between the two, so the message shows over the list it changed.
 */
export class Actions {
  busy = $state(false)
  error = $state<string | null>(null)
  done = $state<string | null>(null)

  constructor(private readonly after: () => Promise<unknown> = async () => {}) {}

  run = async (what: () => Promise<string>) => {
    this.busy = true
    this.error = null
    this.done = null
    try {
      const message = await what()
      await this.after()
      this.done = message
    } catch (failure) {
      this.error = messageOf(failure)
    } finally {
      this.busy = false
    }
  }
}
