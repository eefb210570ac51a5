'use strict'
const test = require('node:test')
const assert = require('node:assert/strict')
const { server, connect, eventually } = require('./helpers.js')

const SVC = 'com.example.NodeCallbacks:1.0'

test('onData runs on the JS thread with every newer version, never an older one', async () => {
  const srv = await server()
  const [provider, consumer] = [await connect(srv), await connect(srv)]
  const seen = []
  await consumer.subscribe(SVC, { scope: 'global', onData: (d) => seen.push([d.version, d.items()]) })
  const pub = await provider.publish(SVC, 'v0')
  for (let i = 1; i <= 20; i++) await pub.republish(`v${i}`)
  await eventually('the last version arrives', () => seen.at(-1)?.[1][0] === 'v20')
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i - 1][0] < seen[i][0], 'versions only grow')
})

test('a callback that throws is reported on the error event and later pushes still come', async () => {
  const srv = await server()
  const [provider, consumer] = [await connect(srv), await connect(srv)]
  const errors = []
  consumer.on('error', (e) => errors.push(e))
  const seen = []
  await consumer.subscribe(SVC, {
    onData: (d) => {
      seen.push(d.items()[0])
      if (d.items()[0] === 'bad') throw new Error('boom')
    },
  })
  const pub = await provider.publish(SVC, 'bad')
  await eventually('the throw is reported', () => errors.length === 1)
  assert.equal(errors[0].message, 'boom')
  await pub.republish('good')
  await eventually('a later push arrives', () => seen.includes('good'))
})

test('without an error listener the throw goes to the console, and nothing crashes', async (t) => {
  const srv = await server()
  const [provider, consumer] = [await connect(srv), await connect(srv)]
  const logged = []
  t.mock.method(console, 'error', (...args) => logged.push(args.join(' ')))
  const seen = []
  await consumer.subscribe(SVC, {
    onData: (d) => {
      seen.push(d.items()[0])
      throw new TypeError('unlucky')
    },
  })
  const pub = await provider.publish(SVC, 'one')
  await eventually('the throw is logged', () => logged.length >= 1)
  assert.match(logged[0], /the onData callback for com\.example\.NodeCallbacks:1\.0 threw; later pushes still come/)
  await pub.republish('two')
  await eventually('pushes go on', () => seen.includes('two'))
})

test('a slow callback gets the newest data next, not every version', async () => {
  const srv = await server()
  const [provider, consumer] = [await connect(srv), await connect(srv)]
  const seen = []
  await consumer.subscribe(SVC, {
    onData: (d) => {
      seen.push(d.items()[0])
      const until = Date.now() + 50
      while (Date.now() < until); // keeps the event loop busy
    },
  })
  const pub = await provider.publish(SVC, 'v0')
  for (let i = 1; i <= 30; i++) pub.republish(`v${i}`)
  await eventually('the newest arrives', () => seen.at(-1) === 'v30', 20000)
  assert.ok(seen.length < 31, `coalesced: ${seen.length} calls for 31 versions`)
})
