// The Node API from TypeScript, checked by `tsc --noEmit --strict` (make node-test):
//
//   npx tsx examples/node/typescript.ts   (or compile it with tsc)
//
// A provider and a consumer on an in-process reference server.

import { Client, InvalidArgumentError, type SubscriberData } from '../../bindings/node/index.js'
import { startServer } from '../../bindings/node/testing.js'

async function main(): Promise<void> {
  const server = await startServer()
  const consumer = new Client({ endpoints: server.endpoint, appName: 'ts-consumer' })
  const provider = new Client({ endpoints: [server.endpoint], appName: 'ts-provider', zone: 'zone-a' })
  await consumer.waitConnected(5000)

  const seen: bigint[] = []
  const sub = await consumer.subscribe('com.example.OrderService:1.0', {
    scope: 'global',
    onData: (data: SubscriberData) => seen.push(data.version),
  })
  const pub = await provider.publish('com.example.OrderService:1.0', 'bolt://10.1.2.3:12200?weight=100')
  const data = await sub.waitFor((d) => d.length === 1, { timeoutMs: 5000 })
  console.log(`v${data.version}: ${JSON.stringify(data.zones)} (from cache: ${data.fromCache})`)

  await pub.republish(['bolt://10.1.2.3:12200?weight=100', 'bolt://10.1.2.4:12200?weight=50'])
  for await (const d of sub) {
    if (d.length === 2) break
  }
  try {
    await provider.publish('', 'x')
  } catch (e) {
    if (e instanceof InvalidArgumentError) console.log(`${e.code}: refused as expected`)
  }
  const status = sub.migrationStatus
  console.log(`mode ${sub.mode}, migration ${status.status}, ${seen.length} callbacks`)
  await pub.unregister()
  await consumer.close()
  await provider.close()
  await server.stop()
}

main().catch((e: unknown) => {
  console.error(e)
  process.exit(1)
})
