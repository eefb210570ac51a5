'use strict'
// Each test gets a real reference server on loopback and clients that are closed after it.

const { after } = require('node:test')
const { Client } = require('..')
const { startServer } = require('../testing.js')

/** A fresh server for this test file, stopped when the file's tests are done. */
async function server(options) {
  const srv = await startServer({ gracePeriodMs: 1000, ...options })
  after(() => srv.stop())
  return srv
}

/** A connected client on `srv`, closed when the file's tests are done. */
async function connect(srv, options) {
  const c = new Client({ endpoints: srv.endpoint, appName: 'node-test', requestTimeoutMs: 5000, ...options })
  after(() => c.close())
  await c.waitConnected(10000)
  return c
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/** Polls `cond` until it holds or `ms` pass. */
async function eventually(what, cond, ms = 10000) {
  const deadline = Date.now() + ms
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`${what} within ${ms} ms`)
    await sleep(10)
  }
}

module.exports = { server, connect, sleep, eventually }
