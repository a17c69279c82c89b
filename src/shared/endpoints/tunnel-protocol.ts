import { z } from "zod";
import { AttemptId } from "../id-schemas.js";

/**
 * The tunnel between a region's object and a provider's agent: inference requests reach a replica
 * container without the host opening any inbound port. It rides the agent's presence WebSocket
 * (GET /v1/agent/presence, hibernatable on the region side, so an idle tunnel costs nothing).
 *
 * Only the region opens streams (one per caller request). Control frames are JSON text messages
 * (`TunnelFrame`); body bytes travel as binary messages (`encodeDataFrame`), each tagged with its
 * stream id. Each direction of each stream has a byte window: a sender never has more than the
 * window's bytes sent and not yet credited back, so a slow caller (or a slow container reading a
 * large upload) makes the other side stop reading instead of buffering without bound.
 */

/** Bytes a side may send on one stream before the first credit (and the most it may hold unacknowledged). */
export const STREAM_WINDOW_BYTES = 1024 * 1024;
/**
 * The largest payload of one binary data frame. Receivers bound a stream by its window, not by
 * frame size (earlier senders used 64 KiB frames; both are read alike), and it stays well under
 * the runtime's 1 MiB WebSocket message limit.
 */
export const MAX_DATA_FRAME_BYTES = 256 * 1024;
/**
 * The largest body carried whole inside an `open` or `head` frame (base64), once both sides said
 * they can (`hello`, `open.inline`): a small request or response then costs one WebSocket message
 * each way instead of open/data/end and head/data/end plus credits, and reaches the container in
 * one write with its length.
 */
export const MAX_INLINE_BODY_BYTES = 48 * 1024;
const InlineBody = z
  .string()
  .max(Math.ceil(MAX_INLINE_BODY_BYTES / 3) * 4)
  .regex(/^[A-Za-z0-9+/]*={0,2}$/);
/** Stream ids are unsigned 32-bit integers, allocated by the region per socket. */
export const StreamId = z.number().int().min(1).max(0xffff_ffff);

const Header = z.tuple([z.string().min(1).max(256), z.string().max(8192)]);
const Headers = z.array(Header).max(200);

/** Region → agent: a caller's request for a replica; its body follows as data frames, then `end`. */
export const OpenFrame = z
  .object({
    t: z.literal("open"),
    s: StreamId,
    /** The replica's attempt on this node; the agent answers `reset` if it runs no such replica. */
    attemptId: AttemptId,
    method: z.string().regex(/^[A-Z]{1,16}$/),
    /** Path and query on the container, always starting with "/". */
    path: z.string().startsWith("/").max(8192),
    headers: Headers,
    /** False when the request has no body (the agent need not wait for data frames before `end`). */
    body: z.boolean(),
    /** The whole request body (base64): no data frames and no `end` follow. Only to a `hello`ed agent. */
    data: InlineBody.optional(),
    /** The region reads a `head` carrying the whole response (`data` with `end`). */
    inline: z.boolean().optional(),
  })
  .strict();

/** Agent → region: the container's response status and headers; its body follows as data frames. */
export const HeadFrame = z
  .object({
    t: z.literal("head"),
    s: StreamId,
    status: z.number().int().min(100).max(599),
    headers: Headers,
    /** With `end`: the whole response body (base64), and the stream is over (only if `open.inline`). */
    data: InlineBody.optional(),
    end: z.literal(true).optional(),
  })
  .strict();

/** Agent → region, first on each socket: this agent reads `open.data` and may answer inline heads. */
export const HelloFrame = z.object({ t: z.literal("hello"), inline: z.literal(true) }).strict();

/** Either way: the sender's body for this stream is complete. */
export const EndFrame = z.object({ t: z.literal("end"), s: StreamId }).strict();

/** Either way: the receiver consumed this many more bytes of the stream; the sender may send as many. */
export const CreditFrame = z
  .object({ t: z.literal("credit"), s: StreamId, bytes: z.number().int().min(1).max(STREAM_WINDOW_BYTES) })
  .strict();

/**
 * Either way: the stream is abandoned. From the region: the caller went away (the agent aborts the
 * upstream request). From the agent: the replica could not answer or died mid-response (the region
 * ends the caller's stream with an error, never leaves it hanging).
 */
export const ResetFrame = z
  .object({
    t: z.literal("reset"),
    s: StreamId,
    reason: z.enum(["cancelled", "unknown_replica", "upstream_failed", "replica_died", "protocol"]),
    message: z.string().max(1024).default(""),
  })
  .strict();

/**
 * Agent → region: a replica's readiness changed. `ready` only after its readiness probe passed;
 * `unready` when a probe later fails (no new traffic until ready again); `failed` when the
 * container is gone or never became ready (the detail says why, e.g. "probe GET /health → 500").
 */
export const ReplicaFrame = z
  .object({
    t: z.literal("replica"),
    attemptId: AttemptId,
    fencing: z.number().int().min(1),
    state: z.enum(["starting", "ready", "unready", "failed"]),
    detail: z.string().max(1024).default(""),
    at: z.number().int(),
  })
  .strict();

export const TunnelFrame = z.discriminatedUnion("t", [
  OpenFrame,
  HeadFrame,
  EndFrame,
  CreditFrame,
  ResetFrame,
  ReplicaFrame,
  HelloFrame,
]);
export type TunnelFrame = z.infer<typeof TunnelFrame>;
export type OpenFrame = z.infer<typeof OpenFrame>;
export type HeadFrame = z.infer<typeof HeadFrame>;
export type ResetFrame = z.infer<typeof ResetFrame>;
export type ReplicaFrame = z.infer<typeof ReplicaFrame>;
export type HelloFrame = z.infer<typeof HelloFrame>;

/** A text message as a frame, or undefined when it is not one (the receiver drops it). */
export function parseTunnelFrame(text: string): TunnelFrame | undefined {
  try {
    const parsed = TunnelFrame.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** A binary data message: 4 bytes of stream id (big-endian), then the payload. */
export function encodeDataFrame(stream: number, payload: Uint8Array): Uint8Array {
  if (payload.byteLength > MAX_DATA_FRAME_BYTES) throw new RangeError("data frame payload too large");
  const out = new Uint8Array(4 + payload.byteLength);
  new DataView(out.buffer).setUint32(0, stream, false);
  out.set(payload, 4);
  return out;
}

/** The stream id and payload of a binary data message, or undefined when it is too short. */
export function decodeDataFrame(message: Uint8Array): { stream: number; payload: Uint8Array } | undefined {
  if (message.byteLength < 4) return undefined;
  const stream = new DataView(message.buffer, message.byteOffset, message.byteLength).getUint32(0, false);
  return { stream, payload: message.subarray(4) };
}

/** Bytes as base64 (btoa works on Latin-1 strings: built in slices, not one argument list). */
export function toBase64(bytes: Uint8Array): string {
  let text = "";
  for (let at = 0; at < bytes.byteLength; at += 0x8000)
    text += String.fromCharCode(...bytes.subarray(at, at + 0x8000));
  return btoa(text);
}

export function fromBase64(text: string): Uint8Array {
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}
