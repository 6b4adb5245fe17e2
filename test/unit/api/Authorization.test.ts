import { authorizationMatrix } from "../../support/authorizationMatrix.ts"
import { memoryPlatform } from "./client.ts"

authorizationMatrix("memory", memoryPlatform)
