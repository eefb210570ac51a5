'use strict'
const test = require('node:test')
const assert = require('node:assert/strict')
const { server, connect } = require('./helpers.js')

const SVC = 'com.example.NodeService:1.0'

test('publish then subscribe, and subscribe then publish, both deliver', async () => {
  const srv = await server()
  const [provider, consumer] = [await connect(srv), await connect(srv)]
  assert.equal(provider.isConnected, true)
  await provider.publish(`${SVC}.a`, 'bolt://10.0.0.1:12200')
  const first = await consumer.subscribe(`${SVC}.a`, { scope: 'global' })
  const d = await first.waitFor((d) => d.length === 1)
  assert.deepEqual(d.items(), ['bolt://10.0.0.1:12200'])
  assert.equal(d.dataId, `${SVC}.a`)
  assert.equal(d.dataInfoId, `${SVC}.a#@#DEFAULT_INSTANCE_ID#@#DEFAULT_GROUP`)
  assert.equal(typeof d.version, 'bigint')
  assert.equal(d.fromCache, false)

  const later = await consumer.subscribe(`${SVC}.b`, { scope: 'global' })
  const empty = await later.waitFor()
  assert.equal(empty.length, 0)
  await provider.publish(`${SVC}.b`, ['bolt://10.0.0.2:12200'])
  const got = await later.waitFor((d) => d.length === 1)
  assert.ok(got.version > empty.version)
})

test('republish and unregister are pushed, down to an empty list', async () => {
  const srv = await server()
  const [provider, consumer] = [await connect(srv), await connect(srv)]
  const sub = await consumer.subscribe(SVC, { scope: 'global' })
  const pub = await provider.publish(SVC, 'bolt://10.0.0.1:12200')
  assert.equal(pub.dataInfoId, `${SVC}#@#DEFAULT_INSTANCE_ID#@#DEFAULT_GROUP`)
  const one = await sub.waitFor((d) => d.length === 1)
  await pub.republish(['bolt://10.0.0.1:12200', 'bolt://10.0.0.2:12200'])
  const two = await sub.waitFor((d) => d.length === 2)
  assert.deepEqual(two.zones, { DEFAULT_ZONE: ['bolt://10.0.0.1:12200', 'bolt://10.0.0.2:12200'] })
  assert.deepEqual([two.added, two.removed], [['bolt://10.0.0.2:12200'], []])
  assert.deepEqual(pub.current, { version: 2n, data: ['bolt://10.0.0.1:12200', 'bolt://10.0.0.2:12200'] })
  await pub.unregister()
  const none = await sub.waitFor((d) => d.length === 0)
  assert.ok(one.version < two.version && two.version < none.version)
  assert.deepEqual([none.added, none.removed.sort()], [[], ['bolt://10.0.0.1:12200', 'bolt://10.0.0.2:12200']])
  assert.equal(pub.current, null)
  assert.deepEqual(srv.counts().publishers, 0)
})

test('a zone-scoped subscriber sees only its zone, a global one every zone', async () => {
  const srv = await server()
  const a = await connect(srv, { zone: 'zone-a' })
  const b = await connect(srv, { zone: 'zone-b' })
  await a.publish(SVC, 'in-a')
  await b.publish(SVC, 'in-b')
  const everyone = await a.subscribe(SVC, { scope: 'global' })
  const mine = await a.subscribe(SVC, { scope: 'zone' })
  assert.deepEqual((await everyone.waitFor((d) => d.length === 2)).zones, { 'zone-a': ['in-a'], 'zone-b': ['in-b'] })
  assert.deepEqual((await mine.waitFor((d) => d.length > 0)).items(), ['in-a'])
  const dc = await b.subscribe(SVC, { scope: 'dataCenter' })
  assert.equal((await dc.waitFor((d) => d.length === 2)).length, 2)
})

test('peek, async iteration of each newer version, and waitFor with a time-out', async () => {
  const srv = await server()
  const [provider, consumer] = [await connect(srv), await connect(srv)]
  const pub = await provider.publish(SVC, 'a')
  const sub = await consumer.subscribe(SVC)
  await sub.waitFor((d) => d.length === 1)
  assert.deepEqual(sub.peek().items(), ['a'])
  // Nothing pushed yet (no registry reachable): peek() is null.
  const { Client } = require('..')
  const offline = new Client({ endpoints: '127.0.0.1:1' })
  assert.equal((await offline.subscribe(SVC)).peek(), null)
  await offline.close()
  const versions = []
  for await (const data of sub) {
    versions.push(data.version)
    if (data.items()[0] === 'c') break
    await pub.republish(data.items()[0] === 'a' ? 'b' : 'c')
  }
  assert.equal(versions.length, 3)
  assert.deepEqual([...versions].sort((x, y) => (x < y ? -1 : 1)), versions)
  assert.deepEqual(sub.peek().items(), ['c'])
  await assert.rejects(sub.waitFor((d) => d.length === 5, { timeoutMs: 100 }), (e) => {
    assert.equal(e.name, 'TimeoutError')
    assert.equal(e.code, 'TIMEOUT')
    assert.match(e.message, /^TIMEOUT: no data of com\.example\.NodeService:1\.0#@#DEFAULT_INSTANCE_ID#@#DEFAULT_GROUP matched within 100 ms; the latest is version \d+ with \d+ items$/)
    return true
  })
})

test('10,000 subscribers of one dataId each get every change', async () => {
  const srv = await server()
  const [provider, consumer] = [await connect(srv), await connect(srv, { requestTimeoutMs: 30000 })]
  const pub = await provider.publish(SVC, 'v1')
  const subs = await Promise.all(Array.from({ length: 10000 }, () => consumer.subscribe(SVC)))
  await Promise.all(subs.map((s) => s.waitFor((d) => d.items()[0] === 'v1', { timeoutMs: 30000 })))
  await pub.republish('v2')
  await Promise.all(subs.map((s) => s.waitFor((d) => d.items()[0] === 'v2', { timeoutMs: 30000 })))
  assert.equal(srv.counts().subscribers, 10000)
})
