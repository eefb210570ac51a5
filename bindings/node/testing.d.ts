/** A reference registry in-process, for the tests of services that use Roster. */
export declare class TestServer {
  private constructor()
  /** `host:port` to give a Client. */
  get endpoint(): string
  get port(): number
  /** `host:port` of /health and /metrics. */
  get httpAddress(): string | null
  counts(): { sessions: number; publishers: number; subscribers: number }
  stop(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}

export interface ServerOptions {
  /** gRPC port; 0 (the default) picks a free one. */
  port?: number
  /** How long a disconnected client's registrations are kept (default 2000). */
  gracePeriodMs?: number
  keepaliveIntervalMs?: number
}

export declare function startServer(options?: ServerOptions): Promise<TestServer>
