// The package's public types (the native layer's are generated in native.d.ts).

import { EventEmitter } from 'node:events'

export type Scope = 'zone' | 'dataCenter' | 'global'
export type PublishMode = 'interface' | 'application' | 'all'
export type SubscribeMode = 'force-interface' | 'application-first' | 'force-application'

export interface ClientOptions {
  /** `host:port` (Roster server) or `sofa://host[:port]` (SOFARegistry); one or more. */
  endpoints?: string | string[]
  appName?: string
  zone?: string
  dataCenter?: string
  /** The default tenant of this client's registrations. */
  instanceId?: string
  publishMode?: PublishMode
  subscribeMode?: SubscribeMode
  /** Share of the interface level the application level must hold before force-application (0..1). */
  migrationThreshold?: number
  /** Where the node list and the failover snapshots are kept. */
  cacheDir?: string
  requestTimeoutMs?: number
  connectTimeoutMs?: number
  reconnectMinDelayMs?: number
  reconnectMaxDelayMs?: number
  /** Speak TLS to the registry (implied by any `tls...` option); without `tlsCaFile` the system's roots are trusted. */
  tls?: boolean
  /** PEM CA bundle the registry's certificate must chain to. */
  tlsCaFile?: string
  /** PEM client certificate and key, for a registry that requires mutual TLS. */
  tlsCertFile?: string
  tlsKeyFile?: string
  /** The name the registry's certificate must carry (default: the endpoint's host). */
  tlsServerName?: string
  /** The access key the registry authenticates this client with, and its secret key (it signs each session start and is never sent). */
  accessKey?: string
  secretKey?: string
}

/** The data a subscriber is given: every visible publisher's items, grouped by zone. */
export declare class SubscriberData {
  private constructor()
  /** `dataId#@#instanceId#@#group`. */
  get dataInfoId(): string
  get dataId(): string
  /** Grows with every change; a subscriber never goes back to an older one. */
  get version(): bigint
  get scope(): string
  /** Zone name to the items published in that zone. */
  get zones(): Record<string, string[]>
  /** True while this is the failover snapshot from the cache directory. */
  get fromCache(): boolean
  /** Items not in the previous data this subscriber's consumer was given (its onData or its iterator; every item for the first data); an address published twice counts twice. */
  get added(): string[]
  /** Items of that previous data that are gone. */
  get removed(): string[]
  /** Every item of every zone. */
  items(): string[]
  get length(): number
}

export interface PublishOptions {
  group?: string
  instanceId?: string
}

export interface SubscribeOptions {
  scope?: Scope
  group?: string
  instanceId?: string
  /** This subscription's own mode (else the client's). */
  mode?: SubscribeMode
  /** Called on the JS thread with every newer data; a throw is reported, later pushes still come. */
  onData?: (data: SubscriberData) => void
}

export interface MigrationStatus {
  status: 'force-interface' | 'application-first' | 'pending' | 'force-application'
  /** While pending: application-level addresses. */
  application?: number
  /** While pending: interface-level addresses. */
  interface?: number
}

export declare class Publisher {
  private constructor()
  get registId(): string
  get dataInfoId(): string
  /** What the client holds now; `null` once unregistered. */
  get current(): { version: bigint; data: string[] } | null
  republish(data: string | string[]): Promise<void>
  unregister(): Promise<void>
}

export declare class Subscriber implements AsyncIterable<SubscriberData> {
  private constructor()
  get registId(): string
  get dataInfoId(): string
  /** The latest data without waiting; `null` before the first push. */
  peek(): SubscriberData | null
  /** The current data first (if any), then each newer version; ends when unsubscribed. */
  [Symbol.asyncIterator](): AsyncIterator<SubscriberData>
  /** Waits until the data satisfies `predicate` (any data without one); TimeoutError after `timeoutMs` (10 s). */
  waitFor(predicate?: ((data: SubscriberData) => boolean) | null, options?: { timeoutMs?: number }): Promise<SubscriberData>
  get mode(): SubscribeMode
  get migrationStatus(): MigrationStatus
  /** Switches this subscription's mode (`null`: follow the client's). */
  setMode(mode: SubscribeMode | null): Promise<void>
  unsubscribe(): Promise<void>
}

export declare class Client extends EventEmitter {
  constructor(options?: ClientOptions)
  get clientId(): string
  /** Whether a session with the registry is up. */
  get isConnected(): boolean
  /** Which registry: `'roster'` or `'sofa'`. */
  get protocol(): 'roster' | 'sofa'
  /** The registry nodes this client knows, in the order it tries them. */
  members(): string[]
  waitConnected(timeoutMs?: number): Promise<void>
  get publishMode(): PublishMode
  setPublishMode(mode: PublishMode): Promise<void>
  get subscribeMode(): SubscribeMode
  setSubscribeMode(mode: SubscribeMode): Promise<void>
  publish(dataId: string, data: string | string[], options?: PublishOptions): Promise<Publisher>
  subscribe(dataId: string, options?: SubscribeOptions): Promise<Subscriber>
  /** Unregisters everything and closes the session. */
  close(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
  on(event: 'error', listener: (error: unknown) => void): this
}

/** Base of every Roster error; `code` is the stable error code. */
export declare class RosterError extends Error {
  readonly code: string
}
export declare class InvalidArgumentError extends RosterError {}
export declare class NotConnectedError extends RosterError {}
export declare class TimeoutError extends RosterError {}
export declare class RefusedError extends RosterError {}
export declare class NotLeaderError extends RosterError {}
export declare class NotFoundError extends RosterError {}
export declare class ShutDownError extends RosterError {}
export declare class IoError extends RosterError {}
export declare class UnauthenticatedError extends RosterError {}
export declare class PermissionDeniedError extends RosterError {}
export declare class InternalError extends RosterError {}
