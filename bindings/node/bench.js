'use strict'
// The Node binding's benchmark: the Rust bench's (h) and (i) from JavaScript, plus memory.
//
//   make bench-node        # = npm install ./bindings/node; node --expose-gc bindings/node/bench.js
//
// The registry runs in a child process (roster/testing there), like the Rust bench's. Compare
// with `cargo run --release -p roster-bench -- --only h,i` and bindings/python/bench.py.

const { spawn } = require('node:child_process')
const os = require('node:os')
const { Client } = require('.')

const SERVE = `
  const { startServer } = require(${JSON.stringify(require.resolve('./testing.js'))})
  startServer({ gracePeriodMs: 30000 }).then((s) => console.log(s.endpoint))
  process.stdin.resume()
  process.stdin.on('end', () => process.exit(0))
`

function item(tag) {
  const s = `bolt://10.1.2.3:12200?weight=100&timeout=3000&app=bench&zone=z#${tag}`
  return s.replace('#', '_'.repeat(Math.max(0, 100 - s.length)) + '#')
}

const tag = (data) => Number(data.items()[0].split('#').pop())

function serve() {
  const child = spawn(process.execPath, ['-e', SERVE], { stdio: ['pipe', 'pipe', 'inherit'] })
  return new Promise((resolve) => {
    child.stdout.once('data', (b) => resolve({ endpoint: b.toString().trim(), stop: () => child.stdin.end() }))
  })
}

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]

async function callbacks(endpoint, s, changes) {
  const consumer = new Client({ endpoints: endpoint, appName: 'bench-consumer', requestTimeoutMs: 60000 })
  const provider = new Client({ endpoints: endpoint, appName: 'bench-provider' })
  await consumer.waitConnected()
  await provider.waitConnected()
  const pub = await provider.publish('bench.Callbacks', item(0))
  let current = 0
  let remaining = s
  let calls = 0
  let done = null
  const onData = (data) => {
    calls++
    if (tag(data) === current && --remaining === 0 && done) done()
  }
  const settled = () => new Promise((r) => (remaining === 0 ? r() : (done = r)))
  global.gc?.()
  const before = process.memoryUsage().rss
  // One after another, as the Python bench does (10,000 at once would measure the garbage
  // of 10,000 promises in flight).
  const subs = []
  for (let i = 0; i < s; i++) subs.push(await consumer.subscribe('bench.Callbacks', { onData }))
  await settled()
  global.gc?.()
  const perSub = (process.memoryUsage().rss - before) / s
  const latencies = []
  const calls0 = calls
  const t0 = performance.now()
  for (let i = 1; i <= changes; i++) {
    current = i
    remaining = s
    const sent = performance.now()
    const all = settled()
    await pub.republish(item(i))
    await all
    latencies.push(performance.now() - sent)
  }
  const rate = ((calls - calls0) / (performance.now() - t0)) * 1000
  latencies.sort((a, b) => a - b)
  console.log(
    `(h) callbacks from Node: ${s} subscribers of one dataId on one client, ${changes} changes: ${rate.toFixed(0)} callbacks/s; republish to last callback p50 ${quantile(latencies, 0.5).toFixed(2)} ms p99 ${quantile(latencies, 0.99).toFixed(2)} ms`,
  )
  console.log(
    `(e) Node process memory per subscription (RSS growth over ${s} subscriptions with one 100-byte item and a callback): ${perSub.toFixed(0)} bytes`,
  )
  subs.length = 0
  await consumer.close()
  await provider.close()
}

async function sequential(endpoint, n) {
  const client = new Client({ endpoints: endpoint, appName: 'bench-calls' })
  await client.waitConnected()
  let t0 = performance.now()
  const held = []
  for (let i = 0; i < n; i++) held.push(await client.publish(`bench.Calls.${i}`, item(i)))
  const publish = ((performance.now() - t0) / n) * 1000
  t0 = performance.now()
  for (let i = 0; i < n; i++) await held[0].republish(item(i))
  const republish = ((performance.now() - t0) / n) * 1000
  console.log(`(i) sequential calls from Node, ${n} each: publish ${publish.toFixed(1)} us/call, republish ${republish.toFixed(1)} us/call`)
  await client.close()
}

async function main() {
  const quick = process.argv.includes('--quick')
  console.log(`node ${process.version} on ${os.cpus().length} cores`)
  for (const scenario of ['h', 'i']) {
    const server = await serve()
    try {
      if (scenario === 'h') await callbacks(server.endpoint, quick ? 1000 : 10000, quick ? 5 : 50)
      else await sequential(server.endpoint, quick ? 200 : 5000)
    } finally {
      server.stop()
    }
  }
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
