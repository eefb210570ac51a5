'use strict'
const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { Client } = require('..')
const { startServer } = require('../testing.js')
const { connect } = require('./helpers.js')

const SVC = 'com.example.NodeResilience:1.0'

test('after the server restarts, every registration is redone and pushed again', async () => {
  let srv = await startServer({ gracePeriodMs: 1000 })
  const port = srv.port
  const [provider, consumer] = [await connect(srv), await connect(srv)]
  await provider.publish(SVC, 'bolt://10.0.0.9:1')
  const sub = await consumer.subscribe(SVC, { scope: 'global' })
  await sub.waitFor((d) => d.length === 1)
  await srv.stop()
  srv = await startServer({ port, gracePeriodMs: 1000 })
  try {
    await consumer.waitConnected(10000)
    await provider.waitConnected(10000)
    // The new server holds both again, with no user action.
    const deadline = Date.now() + 10000
    while (srv.counts().publishers !== 1 || srv.counts().subscribers !== 1) {
      assert.ok(Date.now() < deadline, `counts ${JSON.stringify(srv.counts())}`)
      await new Promise((r) => setTimeout(r, 20))
    }
    const d = await sub.waitFor((d) => d.length === 1)
    assert.deepEqual(d.items(), ['bolt://10.0.0.9:1'])
  } finally {
    await provider.close()
    await consumer.close()
    await srv.stop()
  }
})

test('a subscriber started while the registry is down gets the failover snapshot', async () => {
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'roster-node-'))
  const srv = await startServer()
  const provider = await connect(srv)
  await provider.publish(SVC, 'bolt://10.0.0.7:1')
  const first = new Client({ endpoints: srv.endpoint, cacheDir })
  const sub = await first.subscribe(SVC)
  await sub.waitFor((d) => d.length === 1)
  await first.close() // writes the last snapshots
  await provider.close()
  await srv.stop()

  const offline = new Client({ endpoints: srv.endpoint, cacheDir })
  try {
    const cached = (await offline.subscribe(SVC)).peek()
    assert.ok(cached, 'the snapshot is there at once')
    assert.equal(cached.fromCache, true)
    assert.deepEqual(cached.items(), ['bolt://10.0.0.7:1'])
  } finally {
    await offline.close()
    fs.rmSync(cacheDir, { recursive: true, force: true })
  }
})
