'use strict'
const test = require('node:test')
const assert = require('node:assert/strict')
const roster = require('..')
const { Client } = roster
const { server, connect } = require('./helpers.js')

test('every core error kind has its class with a stable code', () => {
  const codes = {
    InvalidArgumentError: 'INVALID_ARGUMENT',
    NotConnectedError: 'NOT_CONNECTED',
    TimeoutError: 'TIMEOUT',
    RefusedError: 'REFUSED',
    NotLeaderError: 'NOT_LEADER',
    NotFoundError: 'NOT_FOUND',
    ShutDownError: 'SHUT_DOWN',
    IoError: 'IO',
    UnauthenticatedError: 'UNAUTHENTICATED',
    PermissionDeniedError: 'PERMISSION_DENIED',
    InternalError: 'INTERNAL',
  }
  for (const [name, code] of Object.entries(codes)) {
    const e = new roster[name]('x')
    assert.ok(e instanceof roster.RosterError && e instanceof Error, name)
    assert.equal(e.code, code)
    assert.equal(e.name, name)
  }
})

test('wrong argument types throw TypeError naming the argument', async () => {
  const srv = await server()
  const c = await connect(srv)
  assert.throws(() => new Client('127.0.0.1:1'), { name: 'TypeError', message: 'options must be an object, not a string' })
  assert.throws(() => new Client({ zone: { a: 1 } }), { name: 'TypeError', message: /option zone must be a string, a number, a boolean or an array of strings, not an object/ })
  await assert.rejects(c.publish(42, 'x'), { name: 'TypeError', message: 'dataId must be a string, not a number' })
  await assert.rejects(c.publish('svc', [1, 2]), { name: 'TypeError', message: 'data must be a string or an array of strings, not an array' })
  await assert.rejects(c.subscribe('svc', { onData: 'nope' }), { name: 'TypeError', message: 'onData must be a function, not a string' })
  await assert.rejects(c.subscribe('svc', { scope: 3 }), { name: 'TypeError', message: 'scope must be a string, not a number' })
  await assert.rejects(c.waitConnected('soon'), { name: 'TypeError', message: 'timeoutMs must be a number of milliseconds, not a string' })
})

test('bad values are INVALID_ARGUMENT with the core message naming them', async () => {
  const srv = await server()
  const c = await connect(srv)
  const invalid = (pattern) => (e) => {
    assert.ok(e instanceof roster.InvalidArgumentError, `${e}`)
    assert.equal(e.code, 'INVALID_ARGUMENT')
    assert.match(e.message, pattern)
    return true
  }
  await assert.rejects(c.publish('', 'x'), invalid(/^INVALID_ARGUMENT: dataId must not be empty/))
  await assert.rejects(c.publish('a#@#b', 'x'), invalid(/#@#/))
  await assert.rejects(c.subscribe('svc', { scope: 'galaxy' }), invalid(/scope "galaxy" is not one of "zone", "dataCenter", "global"/))
  await assert.rejects(c.setSubscribeMode('later'), invalid(/subscribe mode "later" is not one of/))
  await assert.rejects(c.waitConnected(-1), invalid(/timeoutMs must be a non-negative number of milliseconds, got -1/))
  assert.throws(() => new Client({ endpoints: 'nowhere' }), invalid(/endpoint "nowhere" is not host:port/))
  assert.throws(() => new Client({ colour: 'red' }), invalid(/unknown option "colour"; the options are endpoints, appName/))
  assert.throws(() => new Client({ requestTimeoutMs: -5 }), invalid(/requestTimeoutMs must be a non-negative/))
  // TLS and credentials reach the core, which reads the CA file when the client is made.
  assert.throws(() => new Client({ tlsCaFile: '/nonexistent/ca.pem', accessKey: 'orders', secretKey: 's3cret' }), invalid(/^INVALID_ARGUMENT: tls\.caFile \/nonexistent\/ca\.pem: /))
  assert.throws(() => new Client({ tls: true, accessKey: 'orders' }), invalid(/credentials: accessKey and secretKey must both be given/))
  assert.throws(() => new Client({ tls: 'yes' }), invalid(/tls must be a boolean, not a string/))
})

test('no registry reachable is NOT_CONNECTED, and a closed client is SHUT_DOWN', async () => {
  const c = new Client({ endpoints: '127.0.0.1:1', connectTimeoutMs: 200 })
  await assert.rejects(c.waitConnected(300), (e) => {
    assert.ok(e instanceof roster.NotConnectedError)
    assert.match(e.message, /^NOT_CONNECTED: no registry node answered within 300 ms \(tried 127\.0\.0\.1:1; last error: /)
    return true
  })
  await c.close()
  await assert.rejects(c.publish('svc', 'x'), { name: 'ShutDownError', code: 'SHUT_DOWN' })
  await assert.rejects(c.subscribe('svc'), { name: 'ShutDownError' })
})

test('a handle used after unregister or unsubscribe is SHUT_DOWN; doing it twice is fine', async () => {
  const srv = await server()
  const c = await connect(srv)
  const p = await c.publish('svc.Handles', 'x')
  await p.unregister()
  await p.unregister()
  await assert.rejects(p.republish('y'), (e) => {
    assert.ok(e instanceof roster.ShutDownError)
    assert.match(e.message, /^SHUT_DOWN: publisher .+ is unregistered$/)
    return true
  })
  const s = await c.subscribe('svc.Handles')
  await s.unsubscribe()
  assert.throws(() => s.mode, { name: 'ShutDownError', message: /subscriber .+ is unsubscribed/ })
  await assert.rejects(s.setMode('force-interface'), { name: 'ShutDownError' })
  const it = s[Symbol.asyncIterator]()
  await assert.rejects(it.next(), { name: 'ShutDownError' })
})

test('Symbol.asyncDispose closes the client (await using)', async () => {
  const srv = await server()
  const c = new Client({ endpoints: srv.endpoint })
  await c.waitConnected()
  await c.publish('svc.Dispose', 'x')
  await c[Symbol.asyncDispose]()
  assert.equal(srv.counts().publishers, 0, 'close unregistered everything')
  await assert.rejects(c.publish('svc.Dispose', 'y'), { name: 'ShutDownError' })
})
