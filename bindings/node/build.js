'use strict'
// Builds the native addon with cargo and puts it next to the loader (`npm install` runs
// this; it needs Rust). Plain Node and no dependencies: an install from a folder links it
// without installing its own dependencies first.
//
//   node build.js              cargo build -p roster-node (the workspace's dev profile, its
//                              target directory: CARGO_TARGET_DIR / CARGO_BUILD_TARGET apply)
//   node build.js --release    the release profile
//   node build.js --codegen    also regenerate native.js and native.d.ts (needs the dev
//                              dependency @napi-rs/cli); CI checks they are unchanged
//
// With ROSTER_PREBUILT set (the Makefile sets it after building the whole workspace in one
// cargo run, so every binding shares one build of the core), it takes the library cargo
// built rather than running cargo again.
//
// The type definitions come from napi-derive, which writes them while it compiles the crate
// into NAPI_TYPE_DEF_TMP_FOLDER; this script always sets it, so installing and regenerating
// never recompile each other's output.

const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const here = __dirname
const CRATE = 'roster-node'
const args = new Set(process.argv.slice(2))

function die(message) {
  console.error(`roster: ${message}`)
  process.exit(1)
}

function cargoTargetDir() {
  const out = spawnSync('cargo', ['metadata', '--format-version', '1', '--no-deps'], {
    cwd: here,
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  })
  if (out.error) die(`cargo is needed to build the native addon (install Rust: https://rustup.rs): ${out.error.message}`)
  if (out.status !== 0) die(`cargo metadata failed:\n${out.stderr}`)
  return JSON.parse(out.stdout).target_directory
}

// napi-rs's name for this platform: roster.<platform>-<arch>[-<abi>].node
function suffix() {
  const { platform, arch } = process
  if (platform === 'linux') {
    const musl = !process.report?.getReport()?.header?.glibcVersionRuntime
    return `linux-${arch}-${musl ? 'musl' : 'gnu'}`
  }
  if (platform === 'win32') return `win32-${arch}-msvc`
  return `${platform}-${arch}`
}

function install(library) {
  const dest = path.join(here, `roster.${suffix()}.node`)
  fs.copyFileSync(library, `${dest}.tmp`)
  fs.renameSync(`${dest}.tmp`, dest)
}

function prebuilt() {
  const targetDir = cargoTargetDir()
  const file = { darwin: 'libroster_node.dylib', win32: 'roster_node.dll' }[process.platform] ?? 'libroster_node.so'
  const library = path.join(targetDir, args.has('--release') ? 'release' : 'debug', file)
  const typeDefDir = path.join(targetDir, 'napi-type-def', CRATE)
  if (!fs.existsSync(library)) die(`ROSTER_PREBUILT is set but ${library} is missing (make build makes it)`)
  if (args.has('--codegen') && !fs.existsSync(path.join(typeDefDir, CRATE))) {
    die(`ROSTER_PREBUILT is set but the type definitions in ${typeDefDir} are missing (make build writes them)`)
  }
  install(library)
  return typeDefDir
}

function build() {
  if (process.env.ROSTER_PREBUILT) return prebuilt()
  const typeDefDir = path.join(cargoTargetDir(), 'napi-type-def', CRATE)
  fs.mkdirSync(typeDefDir, { recursive: true })
  const env = { ...process.env, NAPI_TYPE_DEF_TMP_FOLDER: typeDefDir }
  if (!fs.existsSync(path.join(typeDefDir, CRATE))) {
    env[`NAPI_FORCE_BUILD_${CRATE.replace(/-/g, '_').toUpperCase()}`] = String(Date.now())
  }
  const cargoArgs = ['build', '-p', CRATE, '--message-format', 'json-render-diagnostics']
  if (args.has('--release')) cargoArgs.push('--release')
  console.error(`roster: building the native addon (cargo ${cargoArgs.slice(0, 3).join(' ')}${args.has('--release') ? ' --release' : ''}); the first build takes a few minutes`)
  const out = spawnSync('cargo', cargoArgs, { cwd: here, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 256 << 20 })
  if (out.error) die(`cargo is needed to build the native addon (install Rust: https://rustup.rs): ${out.error.message}`)
  if (out.status !== 0) die('cargo build failed (see above)')
  const library = out.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l))
    .filter((m) => m.reason === 'compiler-artifact' && m.target?.name === CRATE.replace(/-/g, '_'))
    .flatMap((m) => m.filenames)
    .find((f) => /\.(so|dylib|dll)$/.test(f))
  if (!library) die('cargo did not report the addon library')
  install(library)
  return typeDefDir
}

// Each compile of the crate starts the file afresh, but cargo may compile it twice at once
// (the library and its test harness, under clippy or cargo test), both appending the same
// lines: keep one of each.
function dedupe(typeDefDir) {
  const file = path.join(typeDefDir, CRATE)
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean)
  fs.writeFileSync(file, `${[...new Set(lines)].join('\n')}\n`)
}

async function codegen(typeDefDir) {
  const { generateTypeDef, writeJsBinding } = require('@napi-rs/cli')
  dedupe(typeDefDir)
  const pkg = JSON.parse(fs.readFileSync(path.join(here, 'package.json'), 'utf8'))
  const { exports, dts } = await generateTypeDef({ typeDefDir, cwd: here, declareBindingTarget: true })
  fs.writeFileSync(path.join(here, 'native.d.ts'), dts)
  await writeJsBinding({
    platform: true,
    idents: exports,
    jsBinding: 'native.js',
    binaryName: pkg.napi.binaryName,
    packageName: pkg.name,
    version: pkg.version,
    outputDir: here,
  })
}

const typeDefDir = build()
if (args.has('--codegen')) {
  codegen(typeDefDir).catch((e) => die(`generating native.js and native.d.ts failed: ${e.stack ?? e}`))
}
