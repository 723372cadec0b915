using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Apache.Arrow;
using Sluice.Blocks;

namespace Sluice.Execution.Runtime;

/// <summary>
/// Frees a consumed block's native Arrow memory at once instead of leaving it to finalizers. Buffers are shared between
/// blocks (a slice, a split, a processor that returns its input's columns, a function that returns its input), so each
/// native allocation (its <see cref="MemoryManager{T}"/>) is counted over the stored blocks that hold it, and freed only
/// when the last of them is freed. An allocation that left the executor's hands is never freed here: a block lent to a
/// sink or to the job's consumer (<see cref="Pin"/>) may be kept by them (a sink that groups blocks into files, a caller
/// that collects batches), and so is every allocation it shares. Managed buffers (over a <c>byte[]</c>) are the GC's.
/// What this relies on: a processor, function or source does not keep a batch it was given or returned, nor reuse its
/// buffers in a later batch, once the call returned (IBatchProcessor's contract).
/// </summary>
internal sealed class BlockMemory
{
    private static readonly object Marker = new();

    // Guards _holders: Put runs on task threads, Free on the executor's loop.
    private readonly Lock _lock = new();
    private readonly Dictionary<MemoryManager<byte>, int> _holders = new(ReferenceEqualityComparer.Instance);

    // Weak: a pinned allocation that everyone dropped is the GC's again, and its entry goes with it.
    private readonly ConditionalWeakTable<MemoryManager<byte>, object> _pinned = [];

    /// <summary>Native allocations freed by <see cref="Release"/> so far (for tests and the memory bench).</summary>
    public long Freed => Interlocked.Read(ref _freed);

    private long _freed;

    /// <summary>A block entered the store: each allocation it holds has one more holder.</summary>
    public void Track(Block block)
    {
        var owners = Owners(block.Batch);
        if (owners.Count == 0) return;
        lock (_lock)
        {
            foreach (var o in owners) _holders[o] = _holders.GetValueOrDefault(o) + 1;
        }
    }

    /// <summary>The block goes where the executor cannot see when it is dropped: none of its allocations is ever freed here.</summary>
    public void Pin(Block block)
    {
        foreach (var o in Owners(block.Batch)) _pinned.AddOrUpdate(o, Marker);
    }

    /// <summary>A stored block was freed: its allocations that no other stored block holds, and that were never lent out, are freed.</summary>
    public void Release(Block block)
    {
        var owners = Owners(block.Batch);
        if (owners.Count == 0) return;
        var last = new HashSet<MemoryManager<byte>>(ReferenceEqualityComparer.Instance);
        lock (_lock)
        {
            foreach (var o in owners)
            {
                var left = _holders.GetValueOrDefault(o) - 1;
                if (left > 0)
                {
                    _holders[o] = left;
                    continue;
                }
                _holders.Remove(o);
                if (!_pinned.TryGetValue(o, out _)) last.Add(o);
            }
        }
        if (last.Count == 0) return;
        // Through the buffers, not the managers: ArrowBuffer.Dispose disposes the owner it was built with (a view of
        // another allocation's memory has none and stays). Disposing also takes the allocation off the finalizer queue.
        foreach (var buffer in Buffers(block.Batch))
        {
            if (Owner(buffer) is { } o && last.Remove(o))
            {
                buffer.Dispose();
                Interlocked.Increment(ref _freed);
            }
        }
    }

    /// <summary>The distinct native allocations a batch's buffers live in.</summary>
    private static HashSet<MemoryManager<byte>> Owners(RecordBatch batch)
    {
        var owners = new HashSet<MemoryManager<byte>>(ReferenceEqualityComparer.Instance);
        foreach (var buffer in Buffers(batch))
            if (Owner(buffer) is { } o) owners.Add(o);
        return owners;
    }

    private static MemoryManager<byte>? Owner(ArrowBuffer buffer) =>
        MemoryMarshal.TryGetMemoryManager(buffer.Memory, out MemoryManager<byte>? manager) ? manager : null;

    private static IEnumerable<ArrowBuffer> Buffers(RecordBatch batch)
    {
        foreach (var array in batch.Arrays)
            foreach (var b in Buffers(array.Data)) yield return b;
    }

    private static IEnumerable<ArrowBuffer> Buffers(ArrayData data)
    {
        // Arrow leaves Buffers or Children null where an array has none.
        foreach (var b in data.Buffers ?? []) yield return b;
        foreach (var child in data.Children ?? [])
            foreach (var b in Buffers(child)) yield return b;
        if (data.Dictionary is { } dictionary)
            foreach (var b in Buffers(dictionary)) yield return b;
    }
}
