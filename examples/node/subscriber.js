'use strict'
// Subscribes to a service and prints every push.
//
//   node examples/node/subscriber.js --endpoint 127.0.0.1:9600[,HOST:PORT...] \
//       --data-id com.example.OrderService:1.0 [--until-empty] [--scope global]
//
// With --until-empty it exits once the service had providers and then has none (the demo
// uses that); otherwise it runs until Ctrl-C. (`npm install ./bindings/node` first.)

const { parseArgs } = require('node:util')
const { Client } = require('../../bindings/node')

async function main() {
  const { values } = parseArgs({
    options: {
      endpoint: { type: 'string', default: '127.0.0.1:9600' },
      'data-id': { type: 'string', default: 'com.example.OrderService:1.0' },
      scope: { type: 'string', default: 'global' },
      'until-empty': { type: 'boolean', default: false },
    },
  })
  const client = new Client({ endpoints: values.endpoint.split(','), appName: 'node-subscriber' })
  try {
    await client.waitConnected()
    const sub = await client.subscribe(values['data-id'], { scope: values.scope })
    console.log(`node subscriber: subscribed to ${sub.dataInfoId}`)
    let hadProviders = false
    for await (const data of sub) {
      console.log(`node subscriber: v${data.version} ${JSON.stringify(data.zones)}`)
      hadProviders ||= data.length > 0
      if (values['until-empty'] && hadProviders && data.length === 0) break
    }
  } finally {
    await client.close()
  }
}

process.on('SIGINT', () => process.exit(0))
main().catch((e) => {
  console.error(e)
  process.exit(1)
})
