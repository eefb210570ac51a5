'use strict'
// A Node process that used the library exits by itself when its code is done, with or without
// close(), and does not crash at exit.

const test = require('node:test')
const assert = require('node:assert/strict')
const { spawnSync } = require('node:child_process')
const path = require('node:path')
const { server } = require('./helpers.js')

const pkg = path.join(__dirname, '..')

function run(endpoint, close) {
  const script = `
    const { Client } = require(${JSON.stringify(pkg)})
    ;(async () => {
      const c = new Client({ endpoints: ${JSON.stringify(endpoint)} })
      await c.waitConnected(10000)
      const s = await c.subscribe('svc.Exit', { onData: () => {} })
      await c.publish('svc.Exit', 'x')
      await s.waitFor((d) => d.length === 1)
      ${close ? 'await c.close()' : ''}
      console.log('done')
    })()
  `
  return spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30000 })
}

for (const close of [true, false]) {
  test(`a child process exits by itself ${close ? 'after close()' : 'without close()'}`, async () => {
    const srv = await server()
    const started = Date.now()
    const out = run(srv.endpoint, close)
    assert.equal(out.error, undefined, `did not exit: ${out.error}`)
    assert.equal(out.signal, null, `killed by ${out.signal}: ${out.stderr}`)
    assert.equal(out.status, 0, out.stderr)
    assert.equal(out.stdout.trim(), 'done')
    assert.ok(Date.now() - started < 15000)
  })
}
