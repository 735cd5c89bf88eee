/** Wire frames of the wsao_trio protocol (shared/PROTOCOL.md, contract v1 to v1.3). */

/** Any JSON value the server may put in a payload. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** The envelope every run event shares; `seq` is per user, +1 across all runs, from 1. */
export interface RunEvent {
  type: string;
  seq: number;
  event_id: string;
  run_id: string;
  thread_id: string;
  agent_type: string;
  timestamp: number;
  payload: { [key: string]: Json };
}

/** The first frame of every connection. */
export interface ConnectedFrame {
  type: "connected";
  protocol: number;
  connection_id: string;
  user_id: string;
  epoch: string;
  last_seq: number;
}

/** Answer to every accepted `user_message`, sent before the run's `agent_started`. */
export interface RunAcceptedFrame {
  type: "run_accepted";
  message_id: string;
  run_id: string;
  thread_id: string;
  duplicate: boolean;
}

/** A resume asked for events the server no longer holds, or named another epoch. */
export interface ReplayGapFrame {
  type: "replay_gap";
  requested_after: number;
  oldest_available: number;
  reason: "retention" | "epoch" | string;
}

export interface ErrorFrame {
  type: "error";
  code: string;
  message: string;
  ref?: string;
}

export interface AuthOkFrame {
  type: "auth_ok";
  expires_at: number;
}

/** What `onEvent` listeners receive: every run event once, in seq order, and each gap. */
export type ClientEvent = RunEvent | ReplayGapFrame;

/** A gap the client was told about (`replay_gap`), as kept in `state.gaps`. */
export interface Gap {
  reason: string;
  epoch: string;
  requestedAfter: number;
  oldestAvailable: number;
  /** Client clock (ms since the Unix epoch) when the gap was reported. */
  at: number;
}

export type RunStatus =
  | "accepted" // run_accepted seen, no event yet
  | "running"
  | "awaiting_approval"
  | "completed"
  | "error"
  | "cancelled"
  | "unknown"; // its log was lost (epoch gap) before the run's terminal event reached us

export interface ToolCall {
  toolCallId: string;
  toolName: string;
  arguments: Json;
  status: "running" | "ok" | "error";
  result?: Json;
  error?: Json;
  durationMs?: number;
}

export interface Approval {
  approvalId: string;
  toolCallId: string;
  toolName: string;
  arguments: Json;
  prompt: string;
  expiresAt: number;
  status: "pending" | "approved" | "rejected";
  decidedBy?: string;
  note?: string;
}

/** One run as folded from its events by {@link reduceRun}. */
export interface RunView {
  runId: string;
  threadId: string;
  agentType: string;
  messageId?: string;
  message?: string;
  status: RunStatus;
  /** The answer text: every `agent_message_delta` joined, or the result's `answer`. */
  text: string;
  thinking: string[];
  tools: ToolCall[];
  approvals: Approval[];
  events: RunEvent[];
  /** The highest seq folded in; events at or below it are duplicates. */
  lastSeq: number;
  result?: Json;
  error?: { code: string; message: string };
  cancelReason?: string;
  durationMs?: number;
}

export type ConnectionStatus = "connecting" | "open" | "reconnecting" | "closed";

/** `client.state`: a new object on every change, the same object between changes. */
export interface ClientState {
  status: ConnectionStatus;
  userId: string | null;
  epoch: string | null;
  /** The last contiguous seq received (the resume cursor). */
  lastSeq: number;
  runs: { readonly [runId: string]: RunView };
  gaps: readonly Gap[];
  connectionId: string | null;
  /** Connections opened so far (each `connected` frame counts). */
  connections: number;
  /** Failed or dropped connections since the last one that opened. */
  attempt: number;
  lastClose: { code: number; reason: string } | null;
}

/** Counters for tests and dashboards (`client.stats`); they do not notify subscribers. */
export interface ClientStats {
  /** Run events delivered to `onEvent` (each seq once). */
  delivered: number;
  /** Copies dropped: seq at or below the cursor. */
  duplicatesDropped: number;
  /** Events beyond the next seq without a `replay_gap` (each one ends the connection). */
  holes: number;
  /** `user_message` frames sent again after a reconnect (no `run_accepted` seen). */
  resent: number;
  /** Connections that ended without `close()`. */
  drops: number;
  /** `auth` frames answered `auth_ok`. */
  renewals: number;
}
