'use strict'
const test = require('node:test')
const assert = require('node:assert/strict')
const { server, connect, eventually } = require('./helpers.js')

const ORDERS = 'com.example.NodeOrders:1.0'
const url = (i) => `bolt://10.0.0.${i}:12200?timeout=3000&weight=100`

for (const publishMode of ['interface', 'application', 'all']) {
  for (const subscribeMode of ['force-interface', 'application-first', 'force-application']) {
    test(`a ${publishMode} provider and a ${subscribeMode} consumer`, async () => {
      const srv = await server()
      const provider = await connect(srv, { appName: `orders-${publishMode}`, publishMode })
      await provider.publish(ORDERS, url(1))
      const consumer = await connect(srv, { appName: 'consumer', subscribeMode })
      const sub = await consumer.subscribe(ORDERS)
      // Every pair sees the provider once; force-application over interface-only
      // providers stays pending (the application level holds nothing).
      assert.deepEqual((await sub.waitFor((d) => d.length > 0)).items(), [url(1)])
      assert.equal(sub.mode, subscribeMode)
      if (publishMode === 'interface' && subscribeMode === 'force-application') {
        assert.deepEqual(sub.migrationStatus, { status: 'pending', application: 0, interface: 1 })
      } else {
        assert.deepEqual(sub.migrationStatus, { status: subscribeMode })
      }
    })
  }
}

test('providers and consumers switch modes at run time', async () => {
  const srv = await server()
  const provider = await connect(srv, { appName: 'orders-migrating', publishMode: 'interface' })
  await provider.publish(ORDERS, url(2))
  const consumer = await connect(srv, { appName: 'consumer', subscribeMode: 'application-first' })
  const sub = await consumer.subscribe(ORDERS)
  await sub.waitFor((d) => d.items()[0] === url(2))
  for (const mode of ['all', 'application']) {
    await provider.setPublishMode(mode)
    assert.equal(provider.publishMode, mode)
    assert.deepEqual((await sub.waitFor((d) => d.length === 1)).items(), [url(2)])
  }
  await consumer.setSubscribeMode('force-application')
  assert.equal(consumer.subscribeMode, 'force-application')
  await eventually('force-application', () => sub.migrationStatus.status === 'force-application')
  assert.deepEqual((await sub.waitFor((d) => d.length === 1)).items(), [url(2)])
  await sub.setMode('application-first')
  assert.equal(sub.mode, 'application-first')
  assert.equal(consumer.subscribeMode, 'force-application')
  await sub.setMode(null)
  assert.equal(sub.mode, 'force-application')
})
