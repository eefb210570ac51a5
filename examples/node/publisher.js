'use strict'
// Publishes one address for a service until Ctrl-C (or for --seconds).
//
//   node examples/node/publisher.js --endpoint 127.0.0.1:9600 \
//       --data-id com.example.OrderService:1.0 --data bolt://127.0.0.1:12200?weight=100

const { parseArgs } = require('node:util')
const { Client } = require('../../bindings/node')

async function main() {
  const { values } = parseArgs({
    options: {
      endpoint: { type: 'string', default: '127.0.0.1:9600' },
      'data-id': { type: 'string', default: 'com.example.OrderService:1.0' },
      data: { type: 'string', default: 'bolt://127.0.0.1:12200?weight=100' },
      seconds: { type: 'string' },
    },
  })
  const client = new Client({ endpoints: values.endpoint.split(','), appName: 'node-publisher' })
  await client.waitConnected()
  const pub = await client.publish(values['data-id'], values.data)
  console.log(`published ${values.data} under ${pub.dataInfoId} (registId ${pub.registId})`)
  const stop = async () => {
    await client.close() // unregisters the publisher
    process.exit(0)
  }
  process.on('SIGINT', stop)
  if (values.seconds !== undefined) setTimeout(stop, Number(values.seconds) * 1000)
  else setInterval(() => {}, 1 << 30) // until Ctrl-C
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
