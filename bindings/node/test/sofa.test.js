'use strict'
// The same JavaScript API against a real SOFARegistry: only the endpoint differs. Runs when
// ROSTER_SOFA_ENDPOINT names one (`make sofa-test` starts it and sets it); skipped otherwise.

const test = require('node:test')
const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const { Client, InvalidArgumentError } = require('..')

const endpoint = process.env.ROSTER_SOFA_ENDPOINT
const skip = endpoint ? false : 'needs a real SOFARegistry: run `make sofa-test`'
const WAIT = 30000 // a push takes about 2 s with SOFARegistry's default debouncing
const fresh = (name) => `roster.nodetest.${name}.${crypto.randomUUID()}:1.0`

async function sofa(t, options) {
  const c = new Client({ endpoints: endpoint, appName: 'node-sofa', requestTimeoutMs: 10000, ...options })
  t.after(() => c.close())
  await c.waitConnected(WAIT)
  assert.equal(c.protocol, 'sofa')
  return c
}

test('publish, republish and unregister reach a subscriber through SOFARegistry', { skip }, async (t) => {
  const [provider, consumer] = [await sofa(t), await sofa(t)]
  const id = fresh('changes')
  const pub = await provider.publish(id, 'bolt://10.12.0.1:1')
  const sub = await consumer.subscribe(id, { scope: 'global' })
  const one = await sub.waitFor((d) => d.length === 1, { timeoutMs: WAIT })
  assert.deepEqual(one.zones, { DEFAULT_ZONE: ['bolt://10.12.0.1:1'] })
  await pub.republish(['bolt://10.12.0.1:1', 'bolt://10.12.0.2:1'])
  const two = await sub.waitFor((d) => d.length === 2, { timeoutMs: WAIT })
  await pub.unregister()
  const none = await sub.waitFor((d) => d.length === 0, { timeoutMs: WAIT })
  assert.ok(one.version < two.version && two.version < none.version)
})

test('onData callbacks and application-level modes on a sofa endpoint', { skip }, async (t) => {
  assert.throws(() => new Client({ endpoints: endpoint, subscribeMode: 'application-first' }), (e) => {
    assert.ok(e instanceof InvalidArgumentError)
    assert.match(e.message, /needs application-level discovery/)
    return true
  })
  const c = await sofa(t)
  const id = fresh('callback')
  const seen = []
  await c.subscribe(id, { scope: 'global', onData: (d) => seen.push(d.length) })
  await c.publish(id, 'bolt://10.12.1.1:1')
  const deadline = Date.now() + WAIT
  while (!seen.includes(1)) {
    assert.ok(Date.now() < deadline, `callbacks saw ${seen}`)
    await new Promise((r) => setTimeout(r, 20))
  }
})
