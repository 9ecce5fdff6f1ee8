/**
 * Log-based extraction from PostgreSQL (tables in {@code mode = log}): logical replication with
 * the built-in pgoutput plugin, read through pgjdbc's replication API. Spark-free; the bronze
 * writer builds on it.
 *
 * <h2>Pieces</h2>
 * <ul>
 *   <li>{@link dev.lakehouse.source.replication.ReplicationCheck}: is the source ready (version,
 *       {@code wal_level}, privileges, free slot and WAL sender, tables' replica identity)? One line
 *       per problem, with the fix.</li>
 *   <li>{@link dev.lakehouse.source.replication.Publication}: which tables are streamed.</li>
 *   <li>{@link dev.lakehouse.source.replication.ReplicationSlot}: the slot, created with an
 *       exported snapshot for the initial copy; its state and lag; drop.</li>
 *   <li>{@link dev.lakehouse.source.replication.ChangeStream}: the events, one at a time, and
 *       {@code confirm}.</li>
 * </ul>
 *
 * <h2>Exactly once, for the integrator</h2>
 * <ol>
 *   <li><b>Set up</b>: {@code ReplicationCheck.run(...).requireReady()}; {@code Publication.ensure}
 *       (before the slot: pgoutput reads publications as of the position it decodes);
 *       {@code ReplicationSlot.create}. Copy every table under {@code snapshotName()} (on other
 *       connections: {@code BEGIN ISOLATION LEVEL REPEATABLE READ; SET TRANSACTION SNAPSHOT '...'})
 *       while the slot object stays open, and store the copy with position
 *       {@code consistentPoint()} in the same Delta commit. Close the slot object.</li>
 *   <li><b>Stream</b> with {@code ChangeStream.open(endpoint, slot, publication, storedPosition)}.
 *       Write changes as they come; a Delta commit may end only after a {@code Commit} event, and
 *       records that commit's {@code endLsn} as the table's position (with, e.g., the commit LSN
 *       and the ordinal of the last change as Delta {@code txnVersion}-style metadata).</li>
 *   <li><b>Confirm</b> only after the Delta commit succeeded: {@code confirm(endLsn)}. While no
 *       transaction is pending, confirm {@code KeepAlive.walEnd} and heartbeat messages' {@code lsn}
 *       too (the slot then keeps no WAL for other tables' traffic); these need not be stored.</li>
 *   <li><b>Restart</b> from the stored position. The server starts at the later of it and the
 *       slot's confirmed position and sends every transaction whose commit record is at or after
 *       that: nothing stored is sent again, nothing unstored is skipped. As a guard, drop any
 *       transaction with {@code Begin.finalLsn < storedEndLsn} (i.e. commit LSN at or below the
 *       stored commit LSN).</li>
 *   <li><b>Transactions larger than one Delta commit</b>: write them in parts, but confirm only
 *       after the part that holds the {@code Commit}; after a restart the transaction arrives
 *       whole again and changes with {@code (commitLsn, ordinal)} at or below the stored pair are
 *       dropped.</li>
 *   <li><b>Keep polling</b> at least every {@code wal_sender_timeout / 2} (30 s by default): the
 *       driver answers the server only inside {@code poll}. Close the stream around a longer pause
 *       and reopen it from the stored position.</li>
 *   <li><b>Schema</b>: a {@code RelationUpdate} precedes the first change in a new shape; every
 *       {@code Change} carries the relation its values line up with. {@code UNCHANGED_TOAST} means
 *       "as before": resolve it from the previous version of the row (bronze history or silver).</li>
 *   <li><b>Values</b> are the binary send format of each column's type (the bytes of a binary COPY
 *       field), so the binary COPY decoder of the extraction decodes them.</li>
 * </ol>
 */
package dev.lakehouse.source.replication;
