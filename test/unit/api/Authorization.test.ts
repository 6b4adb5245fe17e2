import { authorizationMatrix, inputWalk } from "../../support/authorizationMatrix.ts"
import { memoryPlatform } from "../../support/client.ts"

authorizationMatrix("memory", memoryPlatform)
inputWalk("memory", memoryPlatform)
