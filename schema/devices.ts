import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * Every attested GPU in the network, by the identity its NVIDIA device certificate names (issue 14:
 * each GPU once in the network). Each Region object knows only its own nodes, so this table is
 * where one region learns that a device it just saw attest is another region's: the second node's
 * attestation fails as a device twin (src/durable/verification/device-registry.ts).
 */
export const attestedDevices = sqliteTable(
  "attested_devices",
  {
    /** The device certificate's subject serial number (attestation verdict `deviceId`). */
    deviceId: text("device_id").primaryKey(),
    nodeId: text("node_id").notNull(),
    region: text("region").notNull(),
    gpuUuid: text("gpu_uuid").notNull(),
    /** When this holder first attested the device, ms since the epoch. */
    firstAttestedAt: integer("first_attested_at").notNull(),
    lastAttestedAt: integer("last_attested_at").notNull(),
  },
  (table) => [index("attested_devices_node_idx").on(table.nodeId)],
);
