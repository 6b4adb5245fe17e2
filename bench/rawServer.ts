import { createServer } from "node:http"
import { fib, hello, renderMarkdown } from "./workload.ts"

/** The baseline: a bare node:http server doing the benchmark's work in plain JavaScript. */
const port = Number(process.argv[2])
createServer((req, res) => {
  let body = ""
  req.setEncoding("utf8")
  req.on("data", (chunk: string) => (body += chunk))
  req.on("end", () => {
    if (req.url === "/hello") {
      res.writeHead(200, { "content-type": "text/plain; charset=utf-8" })
      res.end(hello())
    } else if (req.url === "/fib") {
      res.writeHead(200, { "content-type": "application/json" })
      res.end(JSON.stringify(fib(body, (name) => req.headers[name] as string | undefined)))
    } else if (req.url === "/marked") {
      res.writeHead(200, { "content-type": "text/plain; charset=utf-8" })
      res.end(renderMarkdown(body))
    } else {
      res.writeHead(404)
      res.end()
    }
  })
}).listen(port, "127.0.0.1", () => process.stdout.write("ready\n"))
