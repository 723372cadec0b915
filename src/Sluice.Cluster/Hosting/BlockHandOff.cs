using Sluice.Cluster.Blocks;

namespace Sluice.Cluster.Hosting;

/// <summary>
/// A draining worker's blocks go to their job's driver instead of waiting for consumers that may take minutes (or never
/// come: a sink held by back-pressure). Each block keeps its id: the driver answers for it (its own reads, frees, and
/// reads from other workers, which ask the driver when the owner cannot answer; <see cref="BlockFetcher"/>). A block of
/// a driver that is gone is freed instead: nobody will read it.
/// </summary>
internal sealed class BlockHandOff(ClusterNode node, IGrainFactory grains, IClusterMembershipService membership, Action<string> log)
{
    /// <summary>
    /// Blocks sent at once: enough to keep loopback or a LAN busy (each chunk is a round trip), few enough that the
    /// serialized copies held during the hand-off stay small.
    /// </summary>
    private const int Parallel = 4;

    /// <summary>Hands every held block whose driver is alive to that driver; frees those whose driver is gone. Returns the blocks left (unknown driver or a failed send).</summary>
    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var left = 0;
        foreach (var group in node.HeldList().GroupBy(b => node.Jobs.DriverOf(b.Job)))
        {
            var blocks = group.ToList();
            var mib = blocks.Sum(b => b.Bytes) / (1024.0 * 1024);
            if (group.Key is not { } driver)
            {
                left += blocks.Count;
                continue;
            }
            if (!DriverWatch.IsAlive(membership, driver))
            {
                foreach (var b in blocks) node.Release(b.Id);
                log($"worker {node.Id}: draining: dropping {blocks.Count} block(s) ({mib:0.#} MiB) of driver {driver}, which is gone");
                continue;
            }
            log($"worker {node.Id}: draining: handing {blocks.Count} block(s) ({mib:0.#} MiB) to node {driver}");
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var failed = 0;
            await System.Threading.Tasks.Parallel.ForEachAsync(blocks, new ParallelOptions { MaxDegreeOfParallelism = Parallel, CancellationToken = cancellationToken }, async (b, ct) =>
            {
                try
                {
                    await HandAsync(b.Id, b.Job, driver, ct).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    Interlocked.Increment(ref failed);
                    log($"worker {node.Id}: draining: block {b.Id} could not be handed to {driver}: {e.GetType().Name}: {e.Message}");
                }
            }).ConfigureAwait(false);
            left += failed;
            log($"worker {node.Id}: draining: handed {blocks.Count - failed} block(s) to node {driver} in {clock.Elapsed.TotalSeconds:0.00} s");
        }
        return left;
    }

    private async Task HandAsync(Guid blockId, string job, string driver, CancellationToken cancellationToken)
    {
        byte[] stream;
        try
        {
            stream = ArrowIpc.Serialize(node.Local.Borrow(new Sluice.Blocks.BlockRef(blockId, node.Id, 0, 0, default)).Batch);
        }
        catch (InvalidOperationException)
        {
            return;   // freed by its consumer meanwhile
        }
        var store = grains.GetGrain<IBlockStoreGrain>(driver);
        for (long offset = 0; offset < stream.LongLength;)
        {
            var count = (int)Math.Min(node.ChunkBytes, stream.LongLength - offset);
            if (!await store.AcceptChunkAsync(job, blockId, offset, stream.AsSpan((int)offset, count).ToArray(), stream.LongLength).WaitAsync(cancellationToken).ConfigureAwait(false))
                throw new InvalidOperationException($"node {driver} refused block {blockId}: it is not the driver of job {job}");
            offset += count;
        }
        // The driver answers for it now. A consumer that freed it here meanwhile freed it before the driver had it:
        // free the driver's copy too, or it would be held there for the rest of the job.
        if (node.Holds(blockId)) node.Release(blockId);
        else await store.FreeAsync(job, blockId).WaitAsync(cancellationToken).ConfigureAwait(false);
    }
}
