'use strict'
// A reference registry in-process, for the tests of services that use Roster:
//
//   const { startServer } = require('roster/testing')
//   const server = await startServer()
//   const client = new Client({ endpoints: server.endpoint })
//   ...
//   await server.stop()

const native = require('./native.js')

class TestServer {
  #native
  constructor(nativeServer) {
    this.#native = nativeServer
  }
  /** `host:port` to give a Client. */
  get endpoint() {
    return this.#native.endpoint
  }
  get port() {
    return this.#native.port
  }
  /** `host:port` of /health and /metrics. */
  get httpAddress() {
    return this.#native.httpAddress
  }
  /** `{ sessions, publishers, subscribers }` the server holds now. */
  counts() {
    const [sessions, publishers, subscribers] = this.#native.counts()
    return { sessions, publishers, subscribers }
  }
  /** Stops the server; its registrations are gone (clients redo them on the next one). */
  async stop() {
    return this.#native.stop()
  }
}

if (Symbol.asyncDispose) {
  TestServer.prototype[Symbol.asyncDispose] = function () {
    return this.stop()
  }
}

/** Starts a reference server on loopback: free ports unless `port` is given. */
async function startServer(options) {
  const { port = 0, gracePeriodMs = 2000, keepaliveIntervalMs = 1000 } = options ?? {}
  for (const [name, v] of Object.entries({ port, gracePeriodMs, keepaliveIntervalMs })) {
    if (typeof v !== 'number') throw new TypeError(`${name} must be a number`)
  }
  const { translate } = require('./index.js')._internal
  try {
    return new TestServer(await native.startTestServer(port, gracePeriodMs, keepaliveIntervalMs))
  } catch (e) {
    throw translate(e)
  }
}

module.exports = { startServer, TestServer }
