using System.Collections.Concurrent;

namespace Sluice.Cluster.Blocks;

/// <summary>
/// Blocks a draining worker handed to this node (its job's driver) before leaving, kept as the Arrow IPC stream it sent,
/// under their original ids: the refs the executor holds still name the worker, and this node answers for them (its own
/// reads, other nodes' reads redirected here, and frees). A block is visible only once every byte has arrived.
/// </summary>
internal sealed class HandedBlocks
{
    private readonly ConcurrentDictionary<Guid, Entry> _blocks = new();

    /// <summary>Blocks fully received and not freed.</summary>
    public int Count => _blocks.Values.Count(e => e.Complete);

    /// <summary>Bytes of the received streams (complete or not).</summary>
    public long Bytes => _blocks.Values.Sum(e => e.Bytes.LongLength);

    /// <summary>Stores bytes <c>[offset, offset + data.Length)</c> of block <paramref name="blockId"/>'s stream of <paramref name="total"/> bytes; the sender writes each block's chunks in order.</summary>
    public void Accept(string job, Guid blockId, long offset, byte[] data, long total)
    {
        var entry = _blocks.GetOrAdd(blockId, _ => new Entry(job, new byte[total]));
        if (entry.Job != job || entry.Bytes.LongLength != total || offset < 0 || offset + data.LongLength > total)
            throw new ArgumentException($"block {blockId}: chunk at {offset} (+{data.Length}) of {total} bytes for job {job} does not fit what was received ({entry.Bytes.LongLength} bytes for job {entry.Job})");
        data.CopyTo(entry.Bytes, offset);
        if (offset + data.LongLength == total) entry.Complete = true;
    }

    /// <summary>The whole stream of a handed block of <paramref name="job"/>, or null (not here, not complete, or another job's).</summary>
    public byte[]? Get(Guid blockId, string job) =>
        _blocks.TryGetValue(blockId, out var e) && e.Complete && e.Job == job ? e.Bytes : null;

    /// <summary>Frees a handed block of <paramref name="job"/>; false when this node holds no such block.</summary>
    public bool Remove(Guid blockId, string job)
    {
        if (!_blocks.TryGetValue(blockId, out var e) || e.Job != job) return false;
        return _blocks.TryRemove(blockId, out _);
    }

    private sealed class Entry(string job, byte[] bytes)
    {
        public string Job { get; } = job;

        public byte[] Bytes { get; } = bytes;

        public volatile bool Complete;
    }
}
